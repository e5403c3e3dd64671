"""Project settings (https://docs.kedro.org/en/stable/kedro_project_setup/settings.html)."""

from tsad.config import LOADER_ARGS, TsadConfigLoader
from tsad.hooks import ModelInputExampleHook, RegisteredVersionReviewHook

HOOKS = (ModelInputExampleHook(), RegisteredVersionReviewHook())

CONFIG_LOADER_CLASS = TsadConfigLoader  # adds the computed data.<ds> and experiments.<method>_<ds>
CONFIG_LOADER_ARGS = LOADER_ARGS
