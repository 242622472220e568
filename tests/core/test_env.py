import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from slaverycases.env import env_bool, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parents[2]


def test_env_bool_accepts_the_usual_spellings(monkeypatch):
    for raw, expected in [("1", True), ("yes", True), ("On", True), ("0", False), ("false", False)]:
        monkeypatch.setenv("SC_FLAG", raw)
        assert env_bool("SC_FLAG") is expected


def test_env_bool_refuses_nonsense(monkeypatch):
    monkeypatch.setenv("SC_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="SC_FLAG"):
        env_bool("SC_FLAG")


def test_env_int_refuses_nonsense(monkeypatch):
    monkeypatch.setenv("SC_NUMBER", "ten")
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        env_int("SC_NUMBER", 3)
    monkeypatch.delenv("SC_NUMBER")
    assert env_int("SC_NUMBER", 3) == 3


def test_env_list_and_file_secrets(monkeypatch, tmp_path):
    monkeypatch.setenv("SC_HOSTS", "a.example, b.example,,")
    assert env_list("SC_HOSTS") == ["a.example", "b.example"]
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("SC_SECRET_FILE", str(secret))
    assert env_str("SC_SECRET") == "from-a-file"


def _settings_process(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = "slaverycases.settings"
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_missing_secret_key_with_debug_off_refuses_to_start():
    result = _settings_process({"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_missing_secret_key_is_allowed_for_local_debug():
    result = _settings_process({"DEBUG": "1"})
    assert result.returncode == 0, result.stderr


def _manage(*args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    clean.update(DEBUG="0", DJANGO_SETTINGS_MODULE="slaverycases.settings")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_static_checks_run_without_a_key_but_the_deploy_check_does_not():
    assert _manage("check").returncode == 0
    deploy = _manage("check", "--deploy")
    assert deploy.returncode != 0
    assert "SECRET_KEY is not set" in deploy.stderr
