"""Running the gate: the candidate, the champion and the stock model measured in the same run,
on the same machine, with the same evaluators, then judged by the committed policy."""

from __future__ import annotations

from pathlib import Path

from hotline.ml.pii import get_pii_filter
from hotline.ml.registry import Registry, stock_id
from hotline.settings import Settings
from hotline.tuning.train import Run, loss_curves
from hotline.tuning.verify import Verdict, flatten, gate, load_policy, output_checks, write_report


def measure(settings: Settings, model_id: str, task: str, quick: bool) -> dict[str, float]:
    """The gate's flat metrics for one model. The uncovered-but-close questions count with the
    project's QA set: a tuned model must decline what the articles do not answer."""
    from knowledge.evaluate import run_evaluation

    answer_model, summary_model = (model_id, None) if task == "answer" else (None, model_id)
    # A candidate for one task leaves the other task's model as it is: only its own task is measured.
    report = run_evaluation(settings, quick=quick, model_id=answer_model, summary_model_id=summary_model,
                            uncovered=True, summaries=task == "summary")
    qa = report["qa"]
    details = qa["details"] + report["uncovered"]["details"]
    answerable = [row for row in details if row["answerable"]]
    unanswerable = [row for row in details if not row["answerable"]]
    qa["answerable_accuracy"] = sum(r["status"] == "answered" for r in answerable) / max(len(answerable), 1)
    qa["unanswerable_accuracy"] = sum(r["status"] != "answered" for r in unanswerable) / max(len(unanswerable), 1)
    qa["output_checks"] = output_checks(details, get_pii_filter())
    return flatten(report)


def run_gate(settings: Settings, registry: Registry, model_id: str, *, quick: bool = False,
             directory: Path | None = None) -> tuple[Verdict, Path]:
    version = registry.get(model_id)
    champion = registry.champion(version.task)
    compared = {model_id: measure(settings, model_id, version.task, quick)}
    reference_id = champion.id if champion and champion.id != model_id else stock_id(settings)
    compared[reference_id] = measure(settings, reference_id, version.task, quick)
    for stock in (stock_id(settings), version.base):  # the shipped stock model, and the candidate's own base
        if stock not in compared:
            compared[stock] = measure(settings, stock, version.task, quick)
    verdict = gate(compared[model_id], compared[reference_id], load_policy())
    run_folder = Path(version.metrics.get("run", ""))
    extra = {"reference": reference_id, "quick": quick}
    if (run_folder / "recipe.json").exists():
        extra["loss_curves"] = loss_curves(Run(run_folder))
    directory = directory or settings.var_dir / "tuning" / "reports" / model_id
    _, html = write_report(directory, compared, verdict, extra)
    version.gate_passed = verdict.passed
    version.metrics = {**version.metrics, "gate": compared[model_id], "gate_reference": reference_id,
                       "gate_report": str(html)}
    registry.register(version)
    return verdict, html
