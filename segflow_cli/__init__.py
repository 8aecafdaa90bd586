"""segflow: joint video object segmentation and optical flow (SegFlow, ICCV 2017).

Importing this package is cheap (no torch): the CLI's ``--help`` and ``--version`` rely on it.
The Python API lives in submodules::

    from segflow_cli.models import segflow_lite, build_model
    from segflow_cli.inference import VideoSession
"""

__version__ = "0.1.0"
