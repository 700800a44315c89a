"""Numerical agreement of the Satlas names (Swin-V2 and ResNet) with TerraTorch's torchgeo wrappers.

    .venv/bin/python benchmarks/satlas_agreement.py [--terratorch /path/to/terratorch] [--only swin_t]

See ``_torchgeo_names_agreement.py`` for the method; writes benchmarks/results/satlas_agreement.md/.json.
"""

from _torchgeo_names_agreement import main

if __name__ == "__main__":
    from geo_plugin_torchgeo._satlas import SATLAS

    main("satlas", SATLAS, "Satlas (Swin-V2, ResNet) agreement with TerraTorch")
