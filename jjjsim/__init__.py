"""jjjsim: an agent-based simulation of the Jing-Jin-Ji innovation ecosystem, on Mesa."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jjjsim")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0+unknown"
