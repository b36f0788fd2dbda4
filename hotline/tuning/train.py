"""LoRA training on the very base GGUF the assistant serves, resumable after a kill.

transformers loads the GGUF dequantized, so the adapter is fitted to the weights llama.cpp
serves. The loop is small on purpose: every few minutes it checkpoints the adapter, the
optimizer, the scheduler, the RNG and its place in the epoch, so a killed run resumes where
it stopped and its loss curve continues; the adapter kept is the best by validation loss.
"""

from __future__ import annotations

import csv
import json
import math
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
import torch
from rich.console import Console
from tqdm import tqdm

from hotline.settings import Settings
from hotline.tuning.items import Item, fingerprint
from hotline.tuning.template import IGNORE, Base, example, prepare_base

console = Console(stderr=True)
LINEAR_LAYERS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
METRIC_FIELDS = ["step", "epoch", "split", "loss", "perplexity", "tokens_per_s", "rss_mb", "learning_rate", "elapsed_s"]


class TrainingError(RuntimeError):
    """A run that cannot start or go on (no items, wrong device or dtype); said plainly."""


@dataclass
class Recipe:
    base: str = "qwen2.5-coder-0.5b"
    task: str = "answer"
    epochs: int = 2
    learning_rate: float = 2e-4
    batch_size: int = 4
    max_tokens: int = 640  # longer examples are left out (the scan reports them first)
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: list(LINEAR_LAYERS))
    eval_every: int = 0  # steps between validations; 0: once per epoch
    patience: int = 3  # validations without improvement before stopping early
    checkpoint_minutes: float = 10.0
    max_steps: int = 0  # 0: all epochs (a short run for tests and smoke checks)
    warmup_share: float = 0.05
    seed: int = 13
    device: str = "auto"  # auto | cpu | cuda
    dtype: str = "auto"  # auto: float32 on CPU, bfloat16 on CUDA


@dataclass
class State:
    step: int = 0
    epoch: int = 0
    position: int = 0  # batches of this epoch already done
    best_valid: float = math.inf
    best_step: int = 0
    bad_evals: int = 0
    elapsed_s: float = 0.0
    finished: bool = False


def device_and_dtype(recipe: Recipe) -> tuple[torch.device, torch.dtype]:
    """Fail loudly rather than train at half precision on a CPU, which silently does nothing useful."""
    wanted = recipe.device if recipe.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    if wanted == "cuda" and not torch.cuda.is_available():
        raise TrainingError("device cuda was asked for but no CUDA GPU is present")
    dtype_name = recipe.dtype if recipe.dtype != "auto" else ("bfloat16" if wanted == "cuda" else "float32")
    if wanted == "cpu" and dtype_name != "float32":
        raise TrainingError(f"{dtype_name} training on the CPU does not learn reliably: use float32 (dtype auto)")
    return torch.device(wanted), getattr(torch, dtype_name)


def encode(tokenizer, items: list[Item], max_tokens: int) -> tuple[list[tuple[list[int], list[int]]], list[str]]:
    """Token ids and labels per item; items over max_tokens are named, not silently dropped."""
    examples, skipped = [], []
    for item in items:
        ids, labels = example(tokenizer, item)
        if len(ids) > max_tokens:
            skipped.append(f"{item.source or item.id}: {len(ids)} tokens > {max_tokens}")
        else:
            examples.append((ids, labels))
    return examples, skipped


def batches(examples: list, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """A fixed order per (seed, epoch): a resumed run sees the same batches as an unbroken one.
    Neighbours of similar length share a batch, so little time goes on padding."""
    order = list(range(len(examples)))
    random.Random(seed * 1000 + epoch).shuffle(order)
    window = batch_size * 16
    grouped = []
    for start in range(0, len(order), window):
        grouped += sorted(order[start:start + window], key=lambda i: len(examples[i][0]))
    result = [grouped[i:i + batch_size] for i in range(0, len(grouped), batch_size)]
    random.Random(seed * 1000 + epoch + 1).shuffle(result)
    return result


def collate(examples: list, indices: list[int], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    longest = max(len(examples[i][0]) for i in indices)
    ids = [examples[i][0] + [pad_id] * (longest - len(examples[i][0])) for i in indices]
    labels = [examples[i][1] + [IGNORE] * (longest - len(examples[i][1])) for i in indices]
    mask = [[1] * len(examples[i][0]) + [0] * (longest - len(examples[i][0])) for i in indices]
    return {"input_ids": torch.tensor(ids, device=device), "labels": torch.tensor(labels, device=device),
            "attention_mask": torch.tensor(mask, device=device)}


def load_base_model(base: Base, dtype: torch.dtype, device: torch.device):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(base.gguf.parent), gguf_file=base.gguf.name, dtype=dtype)
    model.hf_quantizer = None  # dequantized already; lets PEFT save the adapter
    model.config.__dict__.pop("quantization_config", None)
    return model.to(device)


class Run:
    """One training run in its own folder: recipe, metrics.csv, checkpoint/, best/, loss.png."""

    def __init__(self, folder: Path, recipe: Recipe | None = None) -> None:
        self.folder = folder
        saved = folder / "recipe.json"
        if saved.exists():
            stored = Recipe(**json.loads(saved.read_text()))
            if recipe is not None and asdict(recipe) != asdict(stored):
                raise TrainingError(f"{folder} was started with another recipe; use a new run folder")
            self.recipe = stored
        elif recipe is None:
            raise TrainingError(f"no run in {folder}")
        else:
            folder.mkdir(parents=True, exist_ok=True)
            saved.write_text(json.dumps(asdict(recipe), indent=2))
            self.recipe = recipe

    @property
    def checkpoint(self) -> Path:
        return self.folder / "checkpoint"

    @property
    def best(self) -> Path:
        return self.folder / "best"

    def state(self) -> State:
        path = self.checkpoint / "state.json"
        return State(**json.loads(path.read_text())) if path.exists() else State()

    def metrics(self) -> list[dict]:
        path = self.folder / "metrics.csv"
        if not path.exists():
            return []
        with path.open() as handle:
            return list(csv.DictReader(handle))

    def rewind(self, step: int) -> None:
        """Forget metrics logged after the checkpoint a resumed run restarts from."""
        rows = [row for row in self.metrics() if int(row["step"]) <= step]
        path = self.folder / "metrics.csv"
        path.unlink(missing_ok=True)
        for row in rows:
            self.log(row)

    def log(self, row: dict) -> None:
        path = self.folder / "metrics.csv"
        new = not path.exists()
        with path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, METRIC_FIELDS)
            if new:
                writer.writeheader()
            writer.writerow({key: row.get(key, "") for key in METRIC_FIELDS})


def _save_adapter(model, folder: Path, state: State) -> Path:
    """Write to a sibling and swap it in: a kill mid-save leaves the previous copy whole."""
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(str(partial))
    (partial / "state.json").write_text(json.dumps(asdict(state)))
    return partial


def _swap_in(partial: Path, folder: Path) -> None:
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    partial.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def save_checkpoint(run: Run, model, optimizer, scheduler, state: State) -> None:
    partial = _save_adapter(model, run.checkpoint, state)
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "python_rng": random.getstate(), "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
               partial / "training_state.pt")
    _swap_in(partial, run.checkpoint)


@torch.no_grad()
def validation_loss(model, examples: list, batch_size: int, pad_id: int, device: torch.device) -> float:
    """Mean loss per completion token over the validation items."""
    model.eval()
    total, tokens = 0.0, 0
    for start in range(0, len(examples), batch_size):
        batch = collate(examples, list(range(start, min(start + batch_size, len(examples)))), pad_id, device)
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
        shift_logits, shift_labels = logits[:, :-1], batch["labels"][:, 1:]
        loss = torch.nn.functional.cross_entropy(shift_logits.reshape(-1, shift_logits.size(-1)),
                                                 shift_labels.reshape(-1), ignore_index=IGNORE, reduction="sum")
        total += float(loss)
        tokens += int((shift_labels != IGNORE).sum())
    model.train()
    return total / max(tokens, 1)


def preflight(examples: list, recipe: Recipe, tokens_per_s: float) -> dict:
    tokens = sum(len(ids) for ids, _ in examples) * recipe.epochs
    steps = math.ceil(len(examples) / recipe.batch_size) * recipe.epochs
    if recipe.max_steps:
        tokens, steps = tokens * min(1.0, recipe.max_steps / steps), min(steps, recipe.max_steps)
    return {"items": len(examples), "steps": steps, "tokens": int(tokens), "tokens_per_s": round(tokens_per_s, 1),
            "estimate_s": round(tokens / max(tokens_per_s, 1e-6))}


def train(settings: Settings, run: Run, train_items: list[Item], valid_items: list[Item],
          *, progress: bool = True, stop_after_steps: int = 0) -> State:
    """Train or resume; returns the final state. stop_after_steps ends this process's share
    early (as a kill would, but after a checkpoint), for tests and time-boxed sessions."""
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import get_linear_schedule_with_warmup

    recipe = run.recipe
    device, dtype = device_and_dtype(recipe)
    base = prepare_base(recipe.base, settings)
    tokenizer = base.tokenizer()
    examples, skipped = encode(tokenizer, train_items, recipe.max_tokens)
    valid, valid_skipped = encode(tokenizer, valid_items, recipe.max_tokens)
    for line in skipped + valid_skipped:
        console.print(f"[yellow]left out[/] {line}")
    if not examples or not valid:
        raise TrainingError(f"nothing to train on: {len(examples)} training and {len(valid)} validation items fit "
                            f"in {recipe.max_tokens} tokens ({len(skipped) + len(valid_skipped)} left out, listed above)")
    (run.folder / "data.json").write_text(json.dumps({
        "train_fingerprint": fingerprint(train_items), "valid_fingerprint": fingerprint(valid_items),
        "train_items": len(examples), "valid_items": len(valid), "left_out": skipped + valid_skipped}, indent=2))

    torch.manual_seed(recipe.seed)
    random.seed(recipe.seed)
    model = load_base_model(base, dtype, device)
    state = run.state()
    if state.finished:
        console.print(f"{run.folder} already finished at step {state.step}")
        return state
    if state.step:
        model = PeftModel.from_pretrained(model, str(run.checkpoint), is_trainable=True)
    else:
        model = get_peft_model(model, LoraConfig(r=recipe.lora_r, lora_alpha=recipe.lora_alpha,
                                                 lora_dropout=recipe.lora_dropout, task_type="CAUSAL_LM",
                                                 target_modules=recipe.target_modules))
    model.train()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    per_epoch = math.ceil(len(examples) / recipe.batch_size)
    total_steps = min(per_epoch * recipe.epochs, recipe.max_steps or per_epoch * recipe.epochs)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=recipe.learning_rate)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total_steps * recipe.warmup_share), total_steps)
    if state.step:
        saved = torch.load(run.checkpoint / "training_state.pt", weights_only=False)
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        random.setstate(saved["python_rng"])
        torch.set_rng_state(saved["torch_rng"])
        if saved["cuda_rng"]:
            torch.cuda.set_rng_state_all(saved["cuda_rng"])
        run.rewind(state.step)
        if (run.best / "state.json").exists():  # a better adapter may have been kept after the checkpoint
            kept = State(**json.loads((run.best / "state.json").read_text()))
            if kept.best_valid < state.best_valid:
                state.best_valid, state.best_step = kept.best_valid, kept.best_step
        console.print(f"Resuming {run.folder.name} at step {state.step} (epoch {state.epoch + 1}), "
                      f"best validation loss {state.best_valid:.4f}")
    else:
        started = time.monotonic()
        first = collate(examples, batches(examples, recipe.batch_size, recipe.seed, 0)[0], pad_id, device)
        model(**first).loss.backward()  # a measured probe step, not applied
        optimizer.zero_grad()
        estimate = preflight(examples, recipe, int(first["attention_mask"].sum()) / (time.monotonic() - started))
        (run.folder / "preflight.json").write_text(json.dumps(estimate, indent=2))
        console.print(f"Preflight: {estimate['items']} items, {estimate['steps']} steps, {estimate['tokens']:,} tokens "
                      f"at about {estimate['tokens_per_s']} tokens/s on {device}: about "
                      f"{estimate['estimate_s'] // 3600} h {estimate['estimate_s'] % 3600 // 60} min")
        run.log({"step": 0, "epoch": 0, "split": "valid", **_loss_row(validation_loss(
            model, valid, recipe.batch_size, pad_id, device))})

    process = psutil.Process()
    last_checkpoint = time.monotonic()
    session_started, session_steps = time.monotonic(), 0
    bar = tqdm(total=total_steps, initial=state.step, desc=f"Training {recipe.base}", unit="step",
               disable=not progress, dynamic_ncols=True)
    stop = False
    while state.epoch < recipe.epochs and not stop:
        epoch_batches = batches(examples, recipe.batch_size, recipe.seed, state.epoch)
        for indices in epoch_batches[state.position:]:
            step_started = time.monotonic()
            batch = collate(examples, indices, pad_id, device)
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            seconds = time.monotonic() - step_started
            state.step += 1
            state.position += 1
            state.elapsed_s += seconds
            session_steps += 1
            tokens_per_s = int(batch["attention_mask"].sum()) / seconds
            rss_mb = process.memory_info().rss / 2**20
            run.log({"step": state.step, "epoch": round(state.epoch + state.position / len(epoch_batches), 3),
                     "split": "train", **_loss_row(loss.item()), "tokens_per_s": round(tokens_per_s, 1),
                     "rss_mb": round(rss_mb), "learning_rate": scheduler.get_last_lr()[0],
                     "elapsed_s": round(state.elapsed_s, 1)})
            bar.set_postfix(loss=f"{loss.item():.3f}", tok_s=f"{tokens_per_s:.0f}", rss=f"{rss_mb / 1024:.1f}G")
            bar.update()
            end_of_epoch = state.position == len(epoch_batches)
            if (recipe.eval_every and state.step % recipe.eval_every == 0) or end_of_epoch:
                stop = _validate(run, model, valid, pad_id, device, state) or stop
            out_of_steps = recipe.max_steps and state.step >= recipe.max_steps
            session_done = stop_after_steps and session_steps >= stop_after_steps
            if end_of_epoch:
                state.epoch, state.position = state.epoch + 1, 0
            state.finished = bool(stop or out_of_steps or state.epoch >= recipe.epochs)
            if (time.monotonic() - last_checkpoint > recipe.checkpoint_minutes * 60 or state.finished
                    or session_done or end_of_epoch):
                save_checkpoint(run, model, optimizer, scheduler, state)
                last_checkpoint = time.monotonic()
            if state.finished or session_done:
                stop = True
                break
    bar.close()
    if state.finished:
        plot_losses(run)
        console.print(f"Finished at step {state.step}: best validation loss {state.best_valid:.4f} "
                      f"(perplexity {math.exp(state.best_valid):.2f}) at step {state.best_step}; "
                      f"{session_steps / max(time.monotonic() - session_started, 1e-6) * 60:.1f} steps/min")
    return state


def _loss_row(loss: float) -> dict:
    return {"loss": round(loss, 5), "perplexity": round(math.exp(min(loss, 50)), 4)}


def _validate(run: Run, model, valid: list, pad_id: int, device, state: State) -> bool:
    """Log the validation loss, keep the best adapter, and say whether to stop early."""
    loss = validation_loss(model, valid, run.recipe.batch_size, pad_id, device)
    run.log({"step": state.step, "epoch": state.epoch, "split": "valid", **_loss_row(loss),
             "elapsed_s": round(state.elapsed_s, 1)})
    if loss < state.best_valid:
        state.best_valid, state.best_step, state.bad_evals = loss, state.step, 0
        _swap_in(_save_adapter(model, run.best, state), run.best)
        return False
    state.bad_evals += 1
    return state.bad_evals >= run.recipe.patience


def plot_losses(run: Run) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = run.metrics()
    figure, axis = plt.subplots(figsize=(7, 4))
    for split, style in (("train", "-"), ("valid", "o-")):
        points = [(int(r["step"]), float(r["loss"])) for r in rows if r["split"] == split]
        if points:
            axis.plot(*zip(*points), style, label=f"{split} loss", alpha=0.6 if split == "train" else 1)
    axis.set(xlabel="step", ylabel="loss per completion token", title=f"{run.recipe.base} on {run.recipe.task}")
    axis.legend()
    path = run.folder / "loss.png"
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path


def loss_curves(run: Run) -> dict[str, list[tuple[int, float]]]:
    rows = run.metrics()
    return {split: [(int(r["step"]), float(r["loss"])) for r in rows if r["split"] == split]
            for split in ("train", "valid")}
