"""Project settings (https://docs.kedro.org/en/stable/kedro_project_setup/settings.html)."""

from tsad.plain_logs import plain_logs_off_terminal

plain_logs_off_terminal()  # first: importing the hooks below makes kedro-mlflow warn

from tsad.config import LOADER_ARGS, TsadConfigLoader  # noqa: E402
from tsad.hooks import ModelInputExampleHook, RegisteredVersionReviewHook, RunOwnOutputsHook  # noqa: E402
from tsad.run_signals import InterruptedRunHook  # noqa: E402
from tsad.tracking_store import TrackingStoreHook  # noqa: E402

HOOKS = (TrackingStoreHook(), RunOwnOutputsHook(), ModelInputExampleHook(), RegisteredVersionReviewHook(),
         InterruptedRunHook())

CONFIG_LOADER_CLASS = TsadConfigLoader  # adds the computed data.<ds> and experiments.<method>_<ds>
CONFIG_LOADER_ARGS = LOADER_ARGS
