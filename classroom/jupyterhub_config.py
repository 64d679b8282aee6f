"""JupyterHub for one class on one machine (classroom/setup.py prepares it; `make hub` starts it).

Run as root from /srv/vaehub/hub: `jupyterhub -f classroom/jupyterhub_config.py`. The proxy is
configurable-http-proxy (npm), which the hub starts and stops itself. Settings from the environment:

- VAEHUB_IP, VAEHUB_PORT: where the class connects (127.0.0.1:8000);
- VAEHUB_STUDENT_FAST: "1" runs the students' notebooks in fast mode (the test); a class: "0";
- VAEHUB_API_TOKEN: if set, a service `classroom-admin` with that token and the admin role (the
  end-to-end test drives the hub's REST API with it).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import layout as L  # noqa: E402

c = get_config()  # noqa: F821 (traitlets' config file)

ip = os.environ.get("VAEHUB_IP", "127.0.0.1")
port = int(os.environ.get("VAEHUB_PORT", "8000"))
c.JupyterHub.bind_url = f"http://{ip}:{port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("VAEHUB_HUB_PORT", port + 81))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ.get('VAEHUB_PROXY_API_PORT', port + 1)}"
c.JupyterHub.db_url = f"sqlite:///{L.HUB_DIR / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(L.HUB_DIR / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(L.HUB_DIR / "jupyterhub-proxy.pid")
c.ConfigurableHTTPProxy.should_start = True   # the hub starts the proxy, and stops it when it stops

# who may log in: the class's system users; the students with one shared class password, the
# instructor (an admin) with a password of their own (classroom/setup.py wrote both). For trying
# only: a student who knows the class password can log in as another student. On a real server use
# PAM, JupyterHub's default (each user's system password), or the university's OAuth.
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = L.PASSWORD_FILE.read_text().strip()
c.SharedPasswordAuthenticator.admin_password = L.INSTRUCTOR_PASSWORD_FILE.read_text().strip()
c.Authenticator.allowed_users = set(L.USERS)
c.Authenticator.admin_users = {L.INSTRUCTOR}

# one server per user, a process of that system user, in that user's home
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
student_fast = os.environ.get("VAEHUB_STUDENT_FAST", "0")


def pre_spawn_hook(spawner) -> None:
    """Students run the release's environment (fast mode off in a class), the instructor the full
    course (autograde in fast mode)."""
    user = spawner.user.name
    spawner.cmd = [str(L.env_for(user) / "bin" / "jupyterhub-singleuser")]
    spawner.environment.update({
        "VAE_COURSE_DATA": str(L.DATA),
        "VAE_COURSE_FAST": "1" if user == L.INSTRUCTOR else student_fast,
        "PATH": f"{L.env_for(user) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    })


c.Spawner.pre_spawn_hook = pre_spawn_hook

token = os.environ.get("VAEHUB_API_TOKEN")
if token:
    c.JupyterHub.services = [{"name": "classroom-admin", "api_token": token}]
    c.JupyterHub.load_roles = [{"name": "admin", "services": ["classroom-admin"]}]
