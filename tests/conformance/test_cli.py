"""Command line, config file and environment variables."""

import os
import signal
import subprocess

import pytest

from brokerproc import broker_bin
from rawstomp import encode_frame
from stompclient import TIMEOUT, uid


def run_bad(tmp_path, *args):
    """Run the broker with args that must make it exit; return (code, stderr)."""
    cmd = [str(broker_bin()), "--data-dir", str(tmp_path / "data"),
           "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERROMQ_")}
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=TIMEOUT * 2, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"broker kept running with bad arguments {args}")
    return p.returncode, p.stderr.decode(errors="replace")


@pytest.mark.parametrize("args,named", [
    (["--bogus-flag"], "--bogus-flag"),
    (["--no-such-option", "1"], "--no-such-option"),
    (["--max-frame-bytes", "lots"], "max-frame-bytes"),
    (["--max-headers", "many"], "max-headers"),
    (["--listen", "not-an-address"], "listen"),
    (["--heart-beat", "fast"], "heart-beat"),
])
def test_bad_flag_exits_nonzero_naming_it(tmp_path, args, named):
    if not broker_bin().exists():
        pytest.skip("broker binary not built")
    code, err = run_bad(tmp_path, *args)
    assert code != 0, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected a one-line error, got:\n{err}"
    assert named in lines[0], f"the error does not name {named!r}:\n{err}"


def test_config_file(broker_factory, tmp_path, raw):
    cfg = tmp_path / "ferromq.toml"

    def build(b):
        cfg.write_text(
            f'data_dir = "{b.data_dir}"\n'
            f'listen = "127.0.0.1:{b.port}"\n'
            f'admin_listen = "127.0.0.1:{b.admin_port}"\n'
            f'node_id = "from-config"\n'
            f'max_frame_bytes = 2048\n'
            f'heart_beat = "700,800"\n')
        return ["--config", str(cfg)], {}

    b = broker_factory(build=build)
    assert b.status()["node_id"] == "from-config"
    r = raw(b.port)
    # with a client asking for "1,1", the configured 700,800 is what applies
    assert r.connect(heart_beat="1,1").headers["heart-beat"] == "700,800"
    r.send_raw(encode_frame("SEND", [("destination", "/queue/cfg")], b"x" * 5000))
    err = r.expect_error_and_close()
    assert err.headers.get("message"), err


def test_environment_variables(broker_factory, client):
    def build(b):
        return [], {"FERROMQ_DATA_DIR": str(b.data_dir),
                    "FERROMQ_LISTEN": f"127.0.0.1:{b.port}",
                    "FERROMQ_ADMIN_LISTEN": f"127.0.0.1:{b.admin_port}",
                    "FERROMQ_NODE_ID": "from-env"}

    b = broker_factory(build=build)
    assert b.status()["node_id"] == "from-env"
    c = client(port=b.port)
    dest = f"/queue/{uid('env')}"
    c.subscribe(dest)
    c.send(dest, "hello", persistent="true")
    assert c.expect_messages(1)[0].body == "hello"
    assert any(b.data_dir.iterdir()), "nothing written to FERROMQ_DATA_DIR"


def test_data_lives_in_the_data_dir(broker, client):
    client().send(f"/queue/{uid('q')}", "m", persistent="true")
    assert broker.data_dir.is_dir() and any(broker.data_dir.iterdir())


def test_logs_go_to_stderr_not_stdout(broker, client):
    c = client()
    c.send(f"/queue/{uid('q')}", "m")
    c.disconnect()
    assert broker.signal(signal.SIGTERM) == 0
    assert broker.logs[-1].read_text(errors="replace").strip(), "no log output on stderr"
    assert broker.stdout.read_text(errors="replace") == "", "broker wrote to stdout"
