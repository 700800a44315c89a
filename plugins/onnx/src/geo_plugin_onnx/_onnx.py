"""``export_onnx``: trace a model's main output with torch's dynamo exporter, check it with onnxruntime.

Importing this module imports neither torch nor onnx; both load inside :func:`export_onnx`.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo_core import ConfigError, MissingDependencyError, atomic_path, fsync_dir

from geo_plugin_onnx._report import ExportCheckError, ExportError, ExportReport

if TYPE_CHECKING:
    from torch import nn

__all__ = ["export_onnx", "require_onnx"]

INSTALL = "pip install geo-plugin-onnx"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Files beyond this size hold their weights in a ``<name>.data`` file beside the graph (protobuf's 2 GiB limit).
_EXTERNAL_DATA_BYTES = 1_800_000_000


def require_onnx() -> None:
    """Import onnx, onnxscript and onnxruntime, or raise :class:`MissingDependencyError` naming the extra."""
    for name in ("onnx", "onnxscript", "onnxruntime"):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise MissingDependencyError(name, INSTALL, "geo export --format onnx") from exc


def _why(exc: BaseException) -> str:
    """The root cause of an exporter failure, in one line."""
    root = exc
    while root.__cause__ is not None and root.__cause__ is not root:
        root = root.__cause__
    text = _ANSI.sub("", str(root)).strip()
    if "Status Message:" in text:  # onnxruntime: keep its message, not the kernel's source location
        text = "onnxruntime: " + re.sub(r"^\S+\.(?:h|cc|cpp):\d+ ", "", text.split("Status Message:")[-1].strip())
        return text[:300]
    if "## Exception summary" in text:  # torch.onnx's own report: keep the summary line
        text = text.split("## Exception summary", 1)[1].strip()
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return f"{type(root).__name__}: {first[:400]}" if not first.startswith("<class") else first[:400]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter's own warnings (users see the report, not tracer internals)."""
    import logging

    loggers = [
        logging.getLogger(n)
        for n in (
            "torch.utils._sympy.interp",
            "torch.fx.experimental.symbolic_shapes",
            "torch.export",
            "torch._dynamo",
            "onnxscript",
        )
    ]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _check_shape(shape: Sequence[int]) -> tuple[int, ...]:
    try:
        out = tuple(int(s) for s in shape)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"input shape {shape!r} is not a list of integers, e.g. 1,6,224,224", key="input_shape"
        ) from exc
    if len(out) not in (4, 5) or any(s < 1 for s in out):
        raise ConfigError(
            f"input shape {list(out)} must be (B, C, H, W) or (B, C, T, H, W) with positive sides, e.g. 1,6,224,224",
            key="input_shape",
        )
    return out


def _guess_shape(model: nn.Module, name: str) -> tuple[int, ...]:
    """``(1, in_chans, *img_size)`` from a backbone that declares both (e.g. Prithvi), else a ConfigError."""
    for module in model.modules():
        chans, size = getattr(module, "in_chans", None), getattr(module, "img_size", None)
        if isinstance(size, int):
            size = (size, size)
        if isinstance(chans, int) and isinstance(size, (tuple, list)) and len(size) == 2:
            return (1, chans, int(size[0]), int(size[1]))
    raise ConfigError(
        f"cannot tell the input shape of {name}; pass sample_input_shape=(1, C, H, W) "
        "(on the command line: --input-shape 1,C,H,W)",
        key="input_shape",
    )


def _spatial_axes(ndim: int) -> tuple[int, int]:
    return (ndim - 2, ndim - 1)


def _second_shape(shape: tuple[int, ...], multiple: int) -> tuple[int, ...]:
    """A different batch size and different sides (kept multiples of ``multiple``) to check a dynamic graph."""
    step = multiple if multiple > 1 else 32
    out = list(shape)
    out[0] += 1
    h, w = _spatial_axes(len(shape))
    out[h] += step
    out[w] += 2 * step
    return tuple(out)


def _capture(wrapper: nn.Module, sample: Any, dynamic: bool) -> Any:
    """``torch.export`` (non-strict) of the wrapper; dynamic axes use ``Dim.AUTO`` (they may specialise)."""
    import torch
    from torch.export import Dim

    if not dynamic:
        return torch.export.export(wrapper, (sample,), strict=False)
    h, w = _spatial_axes(sample.dim())
    shapes = {"image": {0: Dim.AUTO, h: Dim.AUTO, w: Dim.AUTO}}
    # As torch.onnx's own capture does: reason about sizes 0/1 like any size, so a batch of one
    # does not specialise the batch axis (a private flag; without it only fewer axes stay dynamic).
    config = getattr(getattr(torch.fx, "experimental", None), "_config", None)
    patch: Any = contextlib.nullcontext()
    if config is not None and hasattr(config, "patch"):
        patch = config.patch(backed_size_oblivious=True)
    with patch:
        return torch.export.export(wrapper, (sample,), dynamic_shapes=shapes, strict=False)


def _export_program(wrapper: nn.Module, sample: Any, dynamic: bool, opset: int | None) -> Any:
    import torch

    # The exporter prints progress and tracer notes; the caller gets the report instead.
    with _quiet(), open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        program = _capture(wrapper, sample, dynamic)
        return torch.onnx.export(
            program,
            (sample,),
            None,
            dynamo=True,
            input_names=["image"],
            output_names=["output"],
            opset_version=opset,
            verbose=False,
            report=False,
            optimize=True,
        )


def _name_axes(program: Any, ndim: int) -> dict[int, str]:
    """Give the input's symbolic axes readable names (batch, time, height, width); return them."""
    import onnx_ir as ir

    names = {0: "batch", ndim - 2: "height", ndim - 1: "width"}
    if ndim == 5:
        names[2] = "time"
    graph = program.model.graph
    value = graph.inputs[0]
    renamed: dict[str, str] = {}
    dims: list[Any] = []
    axes: dict[int, str] = {}
    for i, d in enumerate(value.shape):
        if isinstance(d, int):
            dims.append(d)
            continue
        old = str(d.value) if d.value is not None else f"d{i}"
        new = names.get(i, f"dim{i}")
        renamed[old] = new
        axes[i] = new
        dims.append(ir.SymbolicDim(new))
    value.shape = ir.Shape(dims)
    if renamed:
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, renamed)) + r")\b")
        for out in graph.outputs:
            if out.shape is None:
                continue
            new_dims = [
                d
                if isinstance(d, int) or d.value is None
                else ir.SymbolicDim(pattern.sub(lambda m: renamed[m.group(1)], str(d.value)))
                for d in out.shape
            ]
            out.shape = ir.Shape(new_dims)
    return axes


def _param_bytes(module: nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in [*module.parameters(), *module.buffers()])


def _run_check(
    path: Path, model: nn.Module, name: str, shapes: list[tuple[int, ...]], seed: int
) -> list[tuple[tuple[int, ...], float, float]]:
    """Per shape: ``(shape, max_abs_diff, output_scale)``; a shape mismatch or runtime error raises."""
    import numpy as np
    import onnxruntime as ort
    import torch

    opts = ort.SessionOptions()
    opts.log_severity_level = 4  # errors reach the caller as exceptions, not as log lines
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(seed)
    results = []
    from geo_plugin_onnx._wrapper import main_output

    for shape in shapes:
        x = torch.randn(shape, generator=gen)
        with torch.no_grad():
            ref = main_output(model(x), name).float().numpy()
        got = session.run(None, {"image": x.numpy()})[0]
        if got.shape != ref.shape:
            raise ExportError(
                name, f"onnxruntime returned shape {list(got.shape)} at input {list(shape)}, PyTorch {list(ref.shape)}"
            )
        diff = float(np.max(np.abs(got.astype(np.float64) - ref))) if ref.size else 0.0
        if not np.isfinite(diff):
            diff = float("inf")
        results.append((shape, diff, float(np.max(np.abs(ref))) if ref.size else 0.0))
    return results


def _allowed(tolerance: float, scale: float) -> float:
    return tolerance * max(1.0, scale)


@contextlib.contextmanager
def _staging(output: Path) -> Iterator[Path]:
    """A private folder beside ``output``; the export is saved there under ``output``'s name."""
    output.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{output.name}.export-", dir=output.parent))
    try:
        yield folder / output.name
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _publish(staged: Path, output: Path) -> None:
    """Move the staged graph (and its external-data file, first) onto ``output`` atomically."""
    for extra in staged.parent.iterdir():
        if extra != staged:
            os.replace(extra, output.parent / extra.name)
    with atomic_path(output) as tmp:
        os.replace(staged, tmp)
    fsync_dir(output.parent)


def export_onnx(
    model_or_task: nn.Module,
    output: str | Path,
    sample_input_shape: Sequence[int] | None = None,
    *,
    dynamic: bool = True,
    opset: int | None = None,
    check: bool = True,
    tolerance: float = 1e-4,
    seed: int = 0,
) -> ExportReport:
    """Export the main output of a geo model (or task) to ONNX and check it with onnxruntime.

    The model is traced with ``torch.onnx.export(..., dynamo=True)`` through a small wrapper
    returning ``ModelOutput.output`` for one input named ``image``. With ``dynamic=True`` batch,
    height and width stay symbolic where the model allows; the graph is then checked at the sample
    shape and at a second shape (another batch size and other sides). When the dynamic export or
    that check fails (e.g. Prithvi's position embeddings), the model is exported at the fixed
    sample shape instead and the report says why. The file is written atomically, only after the
    check passed.

    Args:
        model_or_task: A geo task (its ``.model`` is exported), a geo ``Model`` or any module whose
            forward takes one image tensor and returns a ``ModelOutput`` or a tensor.
        output: The ``.onnx`` file to write (weights above ~1.8 GB go to ``<output>.data`` beside it).
        sample_input_shape: ``(B, C, H, W)`` or ``(B, C, T, H, W)`` of the traced sample; None takes
            it from a backbone declaring ``in_chans`` and ``img_size``.
        dynamic: Try dynamic batch and spatial axes (False: export at the sample shape).
        opset: ONNX opset (default: the exporter's).
        check: Compare onnxruntime with PyTorch on random inputs.
        tolerance: Largest allowed absolute difference, relative to the output scale:
            ``tolerance * max(1, max|output|)``.
        seed: Seed of the random check inputs.

    Returns:
        The :class:`ExportReport` (path, input shape, dynamic axes, max abs difference, ...).

    Raises:
        MissingDependencyError: onnx, onnxscript or onnxruntime is missing.
        ConfigError: The input shape is invalid or cannot be told.
        ExportError: The model cannot be exported (message names the model and why).
        ExportCheckError: onnxruntime and PyTorch disagree beyond the tolerance.

    Example:
        >>> import geo_core  # doctest: +SKIP
        >>> from geo_plugin_onnx import export_onnx  # doctest: +SKIP
        >>> model = geo_core.MODEL_FACTORIES.build("EncoderDecoderFactory").build_model(
        ...     "segmentation", backbone="tiny_cnn", decoder="UNetDecoder", num_classes=2)  # doctest: +SKIP
        >>> export_onnx(model, "model.onnx", (1, 6, 64, 64)).dynamic_axes  # doctest: +SKIP
        {0: 'batch', 2: 'height', 3: 'width'}
    """
    require_onnx()
    import torch

    from geo_plugin_onnx._wrapper import OutputOnly, describe, size_multiple, unwrap_task

    if not isinstance(model_or_task, torch.nn.Module):
        raise ExportError(type(model_or_task).__name__, "it is not a torch.nn.Module (pass a geo task or model)")
    name = describe(model_or_task)
    model = unwrap_task(model_or_task)
    shape = _check_shape(sample_input_shape) if sample_input_shape is not None else _guess_shape(model, name)
    out_path = Path(output)
    multiple, pads = size_multiple(model)
    was_training = model.training
    model.eval()
    try:
        wrapper = OutputOnly(model, name).eval()
        sample = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            wrapper(sample)  # fail on the model's own terms before blaming the exporter
        external = _param_bytes(model) > _EXTERNAL_DATA_BYTES
        with _staging(out_path) as staged:
            report = _export_checked(
                wrapper,
                model,
                name,
                sample,
                staged,
                dynamic=dynamic,
                opset=opset,
                check=check,
                tolerance=tolerance,
                seed=seed,
                external=external,
                multiple=1 if pads else multiple,
            )
            _publish(staged, out_path)
    finally:
        model.train(was_training)
    return ExportReport(path=out_path, **report)


def _export_checked(
    wrapper: nn.Module,
    model: nn.Module,
    name: str,
    sample: Any,
    staged: Path,
    *,
    dynamic: bool,
    opset: int | None,
    check: bool,
    tolerance: float,
    seed: int,
    external: bool,
    multiple: int,
) -> dict[str, Any]:
    shape = tuple(sample.shape)
    reason: str | None = None
    if dynamic:
        try:
            program = _export_program(wrapper, sample, True, opset)
        except Exception as exc:  # the fixed-size export below reports if the model cannot export at all
            reason = f"dynamic export failed ({_why(exc)})"
        else:
            axes = _name_axes(program, len(shape))
            program.save(staged, external_data=external)
            no_axes = None if axes else "the exporter kept no axis dynamic (the model fixes them)"
            if not check:
                return _fields(shape, axes, None, [], program, multiple, no_axes)
            shapes = [shape] + ([_second_shape(shape, multiple)] if axes else [])
            try:
                results = _run_check(staged, model, name, shapes, seed)
            except Exception as exc:
                reason = f"the dynamic graph failed at input {list(shapes[-1])} ({_why(exc)})"
            else:
                bad = [r for r in results if r[1] > _allowed(tolerance, r[2])]
                if not bad:
                    return _fields(shape, axes, max(r[1] for r in results), shapes, program, multiple, no_axes)
                reason = f"the dynamic graph differs from PyTorch by {bad[0][1]:.3g} at input {list(bad[0][0])}"
            for f in staged.parent.iterdir():
                f.unlink()
    try:
        program = _export_program(wrapper, sample, False, opset)
    except Exception as exc:
        raise ExportError(name, f"torch.onnx.export failed at input shape {list(shape)}: {_why(exc)}") from exc
    program.save(staged, external_data=external)
    if not check:
        return _fields(shape, {}, None, [], program, multiple, reason)
    results = _run_check(staged, model, name, [shape], seed)
    diff, scale = results[0][1], results[0][2]
    if diff > _allowed(tolerance, scale):
        raise ExportCheckError(name, diff, _allowed(tolerance, scale), shape)
    return _fields(shape, {}, diff, [shape], program, multiple, reason)


def _fields(
    shape: tuple[int, ...],
    axes: dict[int, str],
    diff: float | None,
    shapes: list[tuple[int, ...]],
    program: Any,
    multiple: int,
    reason: str | None,
) -> dict[str, Any]:
    opset = next((v for k, v in program.model.opset_imports.items() if k in ("", "ai.onnx")), None)
    return {
        "input_shape": shape,
        "dynamic_axes": axes,
        "max_abs_diff": diff,
        "checked_shapes": shapes,
        "opset": opset,
        "size_multiple": multiple if axes else 1,
        "fixed_size_reason": reason,
    }
