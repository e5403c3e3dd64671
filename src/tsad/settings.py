"""Project settings (https://docs.kedro.org/en/stable/kedro_project_setup/settings.html)."""

from omegaconf.resolvers import oc

from tsad.config import CUSTOM_RESOLVERS, TsadConfigLoader
from tsad.hooks import ModelInputExampleHook, RegisteredVersionTagsHook

HOOKS = (ModelInputExampleHook(), RegisteredVersionTagsHook())

CONFIG_LOADER_CLASS = TsadConfigLoader  # adds the computed data.<ds> and experiments.<method>_<ds>
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # oc.env lets mlflow.yml take the tracking URI from the environment (tests point it at a temp store).
    "custom_resolvers": {"oc.env": oc.env, **CUSTOM_RESOLVERS},
    "config_patterns": {"mlflow": ["mlflow*", "mlflow*/**", "**/mlflow*"]},
    # conf/local (or another env) overrides parameters key by key instead of replacing whole top-level keys,
    # so conf/local/parameters.yml may hold `datasets: {smd: {windowing: {window: 1}}}` alone.
    "merge_strategy": {"parameters": "soft"},
}
