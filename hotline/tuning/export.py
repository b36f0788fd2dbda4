"""The trained adapter as llama.cpp serves it: a GGUF LoRA adapter on the unchanged Q4 base
(merging into a quantized base and re-quantizing loses quality), registered as a candidate.

llama.cpp's converter is not in the llama-cpp-python wheel; `make setup` extracts it from the
same version's source package into .venv/llama.cpp (no network at run time).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hotline import clock
from hotline.db.models import ModelVersion
from hotline.ml.files import base_sha256, sha256_of
from hotline.ml.registry import Registry
from hotline.settings import Settings
from hotline.tuning.template import prepare_base
from hotline.tuning.train import Run, State

CONVERTER = Path(__file__).resolve().parents[2] / ".venv" / "llama.cpp" / "convert_lora_to_gguf.py"


class ExportError(RuntimeError):
    pass


def convert_adapter(adapter_dir: Path, base_folder: Path, out_path: Path, converter: Path = CONVERTER) -> Path:
    if not converter.exists():
        raise ExportError(f"llama.cpp's converter is missing at {converter}: run `make setup`")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_suffix(".partial.gguf")
    result = subprocess.run([sys.executable, str(converter), str(adapter_dir), "--base", str(base_folder),
                             "--outtype", "f16", "--outfile", str(partial)],
                            capture_output=True, text=True, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    if result.returncode != 0 or not partial.exists():
        raise ExportError(f"converting {adapter_dir} failed:\n{result.stderr[-2000:]}")
    partial.replace(out_path)
    return out_path


def model_id_for(run: Run) -> str:
    return f"{run.recipe.base}+{run.recipe.task}-{run.folder.name}"


def export(settings: Settings, run: Run) -> ModelVersion:
    """Convert the run's best adapter, record its sha256 and register it as a candidate."""
    best_state = run.best / "state.json"
    if not best_state.exists():
        raise ExportError(f"{run.folder} has no best adapter yet: train first")
    state = State(**json.loads(best_state.read_text()))
    base = prepare_base(run.recipe.base, settings)
    model_id = model_id_for(run)
    adapter = convert_adapter(run.best, base.folder, settings.var_dir / "models" / "adapters" / f"{model_id}.gguf")
    data = json.loads((run.folder / "data.json").read_text())
    version = ModelVersion(
        id=model_id, task=run.recipe.task, base=run.recipe.base, base_sha256=base_sha256(run.recipe.base),
        adapter_path=str(adapter), adapter_sha256=sha256_of(adapter), worked_example=run.recipe.task != "answer",
        data_fingerprint=data["train_fingerprint"], recipe=json.loads((run.folder / "recipe.json").read_text()),
        metrics={"run": str(run.folder), "valid_loss": state.best_valid, "best_step": state.best_step, "train_items": data["train_items"],
                 "valid_items": data["valid_items"]},
        status="candidate", created_at=clock.now())
    return Registry(settings).register(version)
