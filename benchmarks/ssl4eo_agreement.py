"""Numerical agreement of the SSL4EO names (ResNet, ViT-S/16; also SeCo, GASSL) with TerraTorch's wrappers.

    .venv/bin/python benchmarks/ssl4eo_agreement.py [--terratorch /path/to/terratorch] [--only vit]

See ``_torchgeo_names_agreement.py`` for the method; writes benchmarks/results/ssl4eo_agreement.md/.json.
"""

from _torchgeo_names_agreement import main

if __name__ == "__main__":
    from geo_plugin_torchgeo._ssl4eo import SSL4EO

    main("ssl4eo", SSL4EO, "SSL4EO (ResNet, ViT-S/16), SeCo and GASSL agreement with TerraTorch")
