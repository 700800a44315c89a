"""Label rasters kept in folders of their own, paired with the images by file stem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from geo_plugin_datasets._base import GenericDataModule

__all__ = ["LabelFolders"]


class LabelFolders(GenericDataModule):
    """Options of datamodules whose labels are rasters (segmentation, pixel-wise regression, multimodal).

    Combine it before the image-side class (``class X(LabelFolders, SingleSourceDataModule)``);
    the other options pass through ``**kwargs``.

    Args:
        train_label_data_root: Folder of the training label rasters.
        val_label_data_root: Folder of the validation label rasters.
        test_label_data_root: Folder of the test label rasters.
        label_grep: Glob selecting the label rasters.
        no_label_replace: Value of label pixels that are nodata or NaN.
    """

    def __init__(
        self,
        *,
        train_label_data_root: str | Path | None = None,
        val_label_data_root: str | Path | None = None,
        test_label_data_root: str | Path | None = None,
        label_grep: str = "*",
        no_label_replace: float | None = -1,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.label_roots = {"train": train_label_data_root, "val": val_label_data_root, "test": test_label_data_root}
        self.label_grep = label_grep
        self.no_label_replace = no_label_replace
