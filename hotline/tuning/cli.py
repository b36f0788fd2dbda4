"""`hotline tune`: from the operator's data to a verified, deployed model, and back.

    hotline tune data import faq.csv --input question --output answer
    hotline tune data fix faq
    hotline tune data synth
    hotline tune data split faq synthetic
    hotline tune train --base qwen2.5-coder-0.5b
    hotline tune verify MODEL_ID
    hotline tune deploy MODEL_ID
    hotline tune rollback
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from hotline.settings import Settings, get_settings
from hotline.tuning.items import TASKS, read_items, write_items

app = typer.Typer(help="Customize the model on your own data: datasets, training, verification, deploy.",
                  no_args_is_help=True)
data = typer.Typer(help="Import, scan, fix, generate and split training data.", no_args_is_help=True)
app.add_typer(data, name="data")
console = Console()


def tuning_dir(settings: Settings) -> Path:
    return settings.var_dir / "tuning"


def dataset_dir(settings: Settings, name: str) -> Path:
    return tuning_dir(settings) / "datasets" / name


def _fail(message: str) -> None:
    console.print(f"[red]{message}[/]")
    raise typer.Exit(1)


def _scan(settings: Settings, items, extra_findings=()):
    from hotline.ml.pii import get_pii_filter
    from hotline.tuning.scan import scan
    from hotline.tuning.template import prepare_base

    tokenizer = prepare_base("qwen2.5-coder-0.5b", settings).tokenizer()
    findings = [*extra_findings, *scan(items, pii=get_pii_filter(), tokenizer=tokenizer,
                                       max_tokens=settings.llm_context_tokens,
                                       template=lambda messages: tokenizer.apply_chat_template(messages, tokenize=False))]
    return findings


def _print_findings(findings, limit: int = 15) -> None:
    table = Table("row", "field", "problem", "detail", "proposed fix", "safe")
    for finding in findings[:limit]:
        table.add_row(str(finding.row), finding.field, finding.problem, finding.detail[:60], finding.fix[:50],
                      "yes" if finding.safe else "no")
    console.print(table)
    if len(findings) > limit:
        console.print(f"... and {len(findings) - limit} more in the report")


def _passages_for(settings: Settings):
    from knowledge.retrieval import Retriever
    from knowledge.service import ensure_index

    ensure_index(settings)
    retriever = Retriever(settings)
    return lambda question: retriever.relevant(question)


@data.command("import")
def import_data(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="A CSV or an OpenAI-style chat JSONL."),
    task: str = typer.Option("answer", help=f"One of {', '.join(TASKS)}."),
    input_column: str = typer.Option("question", "--input", help="CSV column with the prompt (the customer's question)."),
    output_column: str = typer.Option("answer", "--output", help="CSV column with the completion."),
    group_column: str = typer.Option(None, "--group", help="CSV column keeping related rows on one side of the split."),
    name: str = typer.Option(None, help="Dataset name (default: the file's name)."),
) -> None:
    """Import a dataset and scan it; the stored copy is redacted, the report says what to fix."""
    from hotline.ml.pii import get_pii_filter
    from hotline.tuning.datasets import DatasetError, import_csv, import_jsonl
    from hotline.tuning.scan import counts, redacted_copy, write_report

    settings = get_settings()
    if task not in TASKS:
        _fail(f"--task must be one of {', '.join(TASKS)}")
    passages_for = _passages_for(settings) if task == "answer" else None
    try:
        with console.status(f"Reading {path.name}..."):
            result = (import_jsonl(path, task, passages_for=passages_for) if path.suffix == ".jsonl" else
                      import_csv(path, task, input_column, output_column, passages_for=passages_for,
                                 group_col=group_column))
    except DatasetError as error:
        _fail(str(error))
    with console.status(f"Scanning {len(result.items)} rows (personal data, duplicates, lengths, leaks)..."):
        findings = _scan(settings, result.items, result.findings)
    folder = dataset_dir(settings, name or path.stem)
    write_items(folder / "items.jsonl", redacted_copy(result.items, get_pii_filter()))
    (folder / "task.json").write_text(json.dumps({"task": task, "source": str(path)}))
    report_csv, _ = write_report(findings, folder)
    console.print(f"Imported {len(result.items)} rows into {folder / 'items.jsonl'} (personal data redacted).")
    _print_findings(findings)
    console.print(f"Problems: {counts(findings)}\nReport: {report_csv}\n"
                  f"Next: [bold]hotline tune data fix {folder.name}[/] applies the safe fixes to a cleaned copy.")


@data.command("fix")
def fix_data(name: str = typer.Argument(..., help="A dataset imported with `hotline tune data import`.")) -> None:
    """Apply the safe fixes to a cleaned copy; every changed or dropped row is listed."""
    from hotline.tuning.scan import apply_fixes, write_report

    settings = get_settings()
    folder = dataset_dir(settings, name)
    if not (folder / "items.jsonl").exists():
        _fail(f"no dataset {name!r}: import it first")
    items = read_items(folder / "items.jsonl")
    with console.status("Scanning again and fixing..."):
        cleaned, applied = apply_fixes(items, _scan(settings, items))
    write_items(folder / "clean.jsonl", cleaned)
    write_report(applied, folder / "fixes")
    _print_findings(applied)
    console.print(f"{len(cleaned)} of {len(items)} rows kept in {folder / 'clean.jsonl'}; "
                  f"{len(applied)} fixes and drops listed in {folder / 'fixes' / 'scan.csv'}")


@data.command("synth")
def synthesize(
    name: str = typer.Option("synthetic", help="Dataset name."),
    limit: int = typer.Option(None, help="Process at most this many more article chunks (it resumes)."),
) -> None:
    """Write grounded Q&A (and honest declines) from the help articles with the local model;
    only items that retrieve their own passage and pass the answer checks are kept."""
    from hotline.stack import ModelServers
    from hotline.tuning.synthetic import build_teacher, generate
    from knowledge.retrieval import Retriever
    from knowledge.service import ensure_index

    settings = get_settings()
    ensure_index(settings)
    folder = dataset_dir(settings, name)
    with ModelServers(settings):
        report = generate(settings, build_teacher(settings), Retriever(settings), folder / "clean.jsonl", limit=limit)
    (folder / "task.json").write_text(json.dumps({"task": "answer", "source": "synthetic"}))
    console.print_json(report.as_json())


@data.command("split")
def split_data(
    names: list[str] = typer.Argument(..., help="Cleaned datasets to combine."),
    out: str = typer.Option("default", help="Name of the training set."),
    valid_share: float = typer.Option(0.2, help="Share of groups held out for validation."),
    seed: int = typer.Option(13),
) -> None:
    """Combine cleaned datasets and split them by source article or conversation."""
    from hotline.tuning.split import mix, split

    settings = get_settings()
    items = []
    for name in names:
        path = dataset_dir(settings, name) / "clean.jsonl"
        if not path.exists():
            _fail(f"{name}: no cleaned copy yet (run `hotline tune data fix {name}`)")
        items += read_items(path)
    result = split(items, valid_share=valid_share, seed=seed)
    folder = tuning_dir(settings) / "sets" / out
    write_items(folder / "train.jsonl", result.train)
    write_items(folder / "valid.jsonl", result.valid)
    table = Table("split", "task", "real", "synthetic")
    for part, tasks in mix(result).items():
        for task, origin in tasks.items():
            table.add_row(part, task, str(origin.get("real", 0)), str(origin.get("synthetic", 0)))
    console.print(table)
    console.print(f"{len(result.train)} training and {len(result.valid)} validation items "
                  f"(validation share {result.share:.2f}) in {folder}")


@app.command()
def train(
    bases: list[str] = typer.Option(["qwen2.5-coder-0.5b"], "--base", help="Base model(s); several end in one leaderboard."),
    training_set: str = typer.Option("default", "--set", help="A set made by `hotline tune data split`."),
    task: str = typer.Option("answer"),
    epochs: int = typer.Option(2),
    learning_rate: float = typer.Option(2e-4),
    batch_size: int = typer.Option(4),
    max_steps: int = typer.Option(0, help="Stop after this many steps (0: all epochs)."),
    eval_every: int = typer.Option(0, help="Validate every N steps as well as after each epoch."),
    run_name: str = typer.Option(None, "--run", help="Run folder name (default: <base>-<set>); an existing one resumes."),
) -> None:
    """LoRA-train each base on the set (resuming a killed run), export its adapter to GGUF and
    register it as a candidate."""
    from hotline.tuning.export import export
    from hotline.tuning.train import Recipe, Run, TrainingError
    from hotline.tuning.train import train as train_run

    settings = get_settings()
    folder = tuning_dir(settings) / "sets" / training_set
    if not (folder / "train.jsonl").exists():
        _fail(f"no training set {training_set!r}: run `hotline tune data split ...` first")
    train_items = [i for i in read_items(folder / "train.jsonl") if i.task == task]
    valid_items = [i for i in read_items(folder / "valid.jsonl") if i.task == task]
    board = Table("model id", "base", "best valid loss", "perplexity", "steps", "train time")
    for base in bases:
        recipe = Recipe(base=base, task=task, epochs=epochs, learning_rate=learning_rate, batch_size=batch_size,
                        max_steps=max_steps, eval_every=eval_every)
        try:
            run = Run(tuning_dir(settings) / "runs" / (run_name or f"{base}-{training_set}"), recipe)
            state = train_run(settings, run, train_items, valid_items)
        except TrainingError as error:
            _fail(str(error))
        if not state.finished:
            continue
        version = export(settings, run)
        board.add_row(version.id, base, f"{state.best_valid:.4f}", f"{2.718281828 ** state.best_valid:.2f}",
                      str(state.step), f"{state.elapsed_s / 60:.0f} min")
        console.print(f"Loss curve: {run.folder / 'loss.png'}  metrics: {run.folder / 'metrics.csv'}")
    console.print(board)
    console.print("Next: [bold]hotline tune verify MODEL_ID[/] compares it with the champion and the stock model.")


@app.command()
def verify(
    model_id: str = typer.Argument(..., help="A candidate from `hotline tune models`."),
    quick: bool = typer.Option(False, help="The quick evaluation subset (minutes, not an hour)."),
) -> None:
    """Candidate, champion and stock model side by side on the evaluation sets; the gate's
    verdict is stored in the registry and written as an HTML and JSON report."""
    from hotline.ml.registry import Registry
    from hotline.stack import ModelServers
    from hotline.tuning.verification import run_gate

    settings = get_settings()
    registry = Registry(settings)
    if registry.get(model_id) is None:
        _fail(f"no model {model_id!r} in the registry (`hotline tune models` lists them)")
    with ModelServers(settings, also=(model_id,)):
        verdict, html = run_gate(settings, registry, model_id, quick=quick)
    table = Table("metric", "candidate", "champion", "rule", "result")
    for row in verdict.rows:
        table.add_row(row.metric, _number(row.candidate), _number(row.champion), row.rule,
                      "[green]pass[/]" if row.passed else f"[red]fail[/] {row.reason}")
    console.print(table)
    console.print(f"{'[green]PASSED[/]' if verdict.passed else '[red]FAILED[/]'} the gate. Report: {html}")


def _number(value) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


@app.command()
def deploy(
    model_id: str,
    force: bool = typer.Option(False, help="Deploy a model that did not pass the gate (needs --reason)."),
    reason: str = typer.Option("", help="Why: logged with the deployment."),
) -> None:
    """Make a model the champion of its task; running servers switch to it at their next call."""
    from hotline.ml.registry import DeployRefused, Registry

    try:
        version = Registry(get_settings()).deploy(model_id, force=force, reason=reason)
    except DeployRefused as error:
        _fail(str(error))
    console.print(f"{version.id} now serves {version.task}. Roll back with `hotline tune rollback --task {version.task}`.")


@app.command()
def rollback(task: str = typer.Option("answer")) -> None:
    """Return a task to its previous champion (or the stock model)."""
    from hotline.ml.registry import DeployRefused, Registry

    try:
        model_id = Registry(get_settings()).rollback(task)
    except DeployRefused as error:
        _fail(str(error))
    console.print(f"{task} is served by {model_id} again.")


@app.command()
def models(task: str = typer.Option(None)) -> None:
    """The registry: every model, its status, gate result and metrics."""
    from hotline.ml.registry import Registry, stock_id

    settings = get_settings()
    table = Table("id", "task", "base", "status", "gate", "valid loss", "deployed")
    for version in Registry(settings).list(task):
        gate = {True: "passed", False: "failed", None: "-"}[version.gate_passed]
        table.add_row(version.id, version.task, version.base, version.status, gate,
                      _number(version.metrics.get("valid_loss")), str(version.deployed_at or "-")[:16])
    console.print(table)
    console.print(f"Tasks without a champion are served by the stock model {stock_id(settings)}.")
