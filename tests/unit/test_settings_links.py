"""Where the links in mails point when nobody said."""
from qcflow.core.settings import Settings


def test_unset_the_links_follow_the_web_port(monkeypatch):
    monkeypatch.delenv("QCFLOW_PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("QCFLOW_WEB_PORT", "8600")
    assert Settings().public_base_url == "http://127.0.0.1:8600"


def test_a_base_url_given_is_kept(monkeypatch):
    monkeypatch.setenv("QCFLOW_PUBLIC_BASE_URL", "https://qc.example.org")
    monkeypatch.setenv("QCFLOW_WEB_PORT", "8600")
    assert Settings().public_base_url == "https://qc.example.org"
