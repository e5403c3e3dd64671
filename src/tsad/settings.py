"""Project settings (https://docs.kedro.org/en/stable/kedro_project_setup/settings.html)."""

from kedro.config import OmegaConfigLoader
from omegaconf.resolvers import oc

from tsad.config import CUSTOM_RESOLVERS
from tsad.hooks import ModelInputExampleHook, RegisteredVersionTagsHook

HOOKS = (ModelInputExampleHook(), RegisteredVersionTagsHook())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # oc.env lets mlflow.yml take the tracking URI from the environment (tests point it at a temp store).
    "custom_resolvers": {"oc.env": oc.env, **CUSTOM_RESOLVERS},
    "config_patterns": {"mlflow": ["mlflow*", "mlflow*/**", "**/mlflow*"]},
}
