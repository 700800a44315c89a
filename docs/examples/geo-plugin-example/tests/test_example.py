"""Conformance tests of the example plugin, reusing geo_core.testing."""

import geo_core


def test_example_metadata():
    from geo_core.testing import check_plugin_metadata

    check_plugin_metadata("example")


def test_example_backbone_conforms():
    from geo_core.testing import check_backbone

    backbone = geo_core.BACKBONES.build("example:ExampleCNN", in_channels=6)
    check_backbone(backbone, in_channels=6, image_size=(32, 32))
