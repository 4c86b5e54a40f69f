"""Configuration and command line of each real daemon an emulated device runs.

Each function writes what its daemon needs under the device's state directory and
returns the command to start it in the foreground.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from harness.emulate.files import HTPASSWD_REALM, write  # noqa: F401 (realm: re-exported)


def dropbear(d: Path, addr: str, key: Path, addr6: str | None = None) -> list[str]:
    six = ["-p", f"[{addr6}]:22"] if addr6 else []
    return ["dropbear", "-F", "-E", "-p", f"{addr}:22", *six, "-r", str(key), "-P",
            str(d / "dropbear.pid"), "-T", "3"]


def openssh(d: Path, addr: str, key: Path, addr6: str | None = None) -> list[str]:
    """OpenSSH configured with the weak algorithms that old firmware still offers."""
    privsep = Path("/run/sshd")                      # sshd's privilege-separation directory
    if not privsep.exists():
        privsep.mkdir()
        (d.parent / "_created_run_sshd").write_text("")   # teardown removes it again
    six = f"ListenAddress [{addr6}]:22\n" if addr6 else ""
    conf = write(d / "sshd_config", f"""ListenAddress {addr}:22
{six}HostKey {key}
PidFile {d}/sshd.pid
UsePAM no
PasswordAuthentication yes
PermitRootLogin yes
KbdInteractiveAuthentication no
HostKeyAlgorithms +ssh-rsa
PubkeyAcceptedAlgorithms +ssh-rsa
KexAlgorithms +diffie-hellman-group1-sha1,diffie-hellman-group14-sha1
Ciphers +aes128-cbc,3des-cbc
MACs +hmac-sha1,hmac-md5
""", 0o600)
    return [shutil.which("sshd") or "/usr/sbin/sshd", "-D", "-e", "-f", str(conf)]


def telnetd(d: Path, addr: str, login_required: bool = True, ipv6_only: bool = False
            ) -> list[str]:
    """inetutils telnetd, inetd-style under socat, with busybox login against the
    namespace's own /etc/shadow (or, the flaw, straight into a root shell)."""
    # a shell without login starts where a login would: in the home directory
    body = 'exec /bin/busybox login "$@"' if login_required else f"exec {d}/jail-shell -i"
    login = write(d / "login.sh", f"#!/bin/sh\n{body}\n", 0o755)
    listen = (f"TCP6-LISTEN:23,bind=[{addr}],ipv6only=1,reuseaddr,fork" if ipv6_only else
              f"TCP-LISTEN:23,bind={addr},reuseaddr,fork")
    return ["socat", listen, f"EXEC:/usr/sbin/telnetd -h -E {login},nofork"]


def lighttpd(d: Path, addr: str, pem: Path, *, tls: bool, weak_tls: bool, users: Path,
             auth: str, throttle: bool, info_leak: str | None, firmware: str,
             tag: str = "lighttpd") -> list[str]:
    """The web UI: public landing page, /admin/ behind HTTP basic or digest auth (lighttpd's
    mod_auth) or behind a form login (CGI programs, see webui.py)."""
    docs = d / "htdocs"
    write(docs / "index.html", "<html><body><h1>Device</h1><a href='/admin/'>Administration"
                               "</a></body></html>\n")
    if info_leak:
        write(docs / "status.html", f"<html><body>firmware {firmware}<br>wifi psk: {info_leak}"
                                    f"</body></html>\n")
    modules = ["mod_auth", "mod_authn_file"]
    if auth == "form":
        from harness.emulate import webui
        modules = ["mod_cgi"]
        access = "\n".join(webui.install(d, docs, users, tls, throttle))
    else:
        write(docs / "admin" / "index.html", "<html><body><h1>Settings</h1><form>Wi-Fi, "
                                             "accounts, firmware</form></body></html>\n")
        kind = {"web-users": "plain", "web-htdigest": "htdigest"}.get(users.name, "htpasswd")
        access = (f'auth.backend = "{kind}"\nauth.backend.{kind}.userfile = "{users}"\n'
                  f'auth.require = ("/admin/" => ("method" => "{auth}", "realm" => '
                  f'"{HTPASSWD_REALM}", "require" => "valid-user"))\n'
                  'index-file.names = ("index.html")')
    ssl = ""
    if tls:
        modules.append("mod_openssl")
        cmds = ('"MinProtocol" => "TLSv1", "CipherString" => "ALL:@SECLEVEL=0"' if weak_tls
                else '"MinProtocol" => "TLSv1.2"')
        ssl = (f'ssl.engine = "enable"\nssl.pemfile = "{pem}"\n'
               f'ssl.openssl.ssl-conf-cmd = ({cmds})\n')
    conf = write(d / "lighttpd.conf", f"""server.modules = ({", ".join(f'"{m}"' for m in modules)})
server.document-root = "{docs}"
server.bind = "{addr}"
server.port = {443 if tls else 80}
server.errorlog = "{d}/lighttpd-error.log"
server.upload-dirs = ("{d}/tmp")
server.tag = "{tag}"
mimetype.assign = (".html" => "text/html")
{access}
{ssl}""")
    return ["lighttpd", "-D", "-f", str(conf)]


def vsftpd(d: Path, addr: str) -> list[str]:
    empty = d / "vsftpd-empty"
    empty.mkdir(parents=True, exist_ok=True)
    (d / "ftp").mkdir(exist_ok=True)
    write(d / "ftp" / "README", "camera recordings\n")
    (d / "ftp").chmod(0o555)
    conf = write(d / "vsftpd.conf", f"""listen=YES
listen_address={addr}
background=NO
anonymous_enable=YES
local_enable=NO
write_enable=NO
anon_root={d}/ftp
secure_chroot_dir={empty}
nopriv_user=nobody
ftp_username=ftp
seccomp_sandbox=NO
xferlog_enable=NO
""", 0o600)
    return ["vsftpd", str(conf)]


def mosquitto(d: Path, name: str, addr: str, port: int, pem: Path | None,
              passwd: Path | None, extra: list[str] = ()) -> list[str]:
    """A broker (the cloud's, in the cloud namespace, or a hub's own); `passwd`: its
    password file (None: anonymous clients welcome)."""
    lines = [f"listener {port} {addr}", "user root", "persistence false", "log_dest stdout",
             *extra]
    if passwd:
        lines += ["allow_anonymous false", f"password_file {passwd}"]
    else:
        lines += ["allow_anonymous true"]
    if pem:
        lines += [f"certfile {pem}", f"keyfile {pem}", "tls_version tlsv1.2"]
    conf = write(d / f"{name}-mosquitto.conf", "\n".join(lines) + "\n")
    return ["mosquitto", "-c", str(conf)]


def mosquitto_user(passwd: Path, user: str, secret: str) -> None:
    """Add (or update) one account in a broker's password file; a running broker reads it
    again on SIGHUP."""
    import subprocess
    if not passwd.exists():
        passwd.write_text("")
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, secret], check=True,
                   capture_output=True)
    passwd.chmod(0o644)


# Every shell on an emulated unit (SSH, telnet, serial console) starts in its own mount and
# PID namespaces, chrooted to a private root that holds only the unit's files and read-only
# system directories, with the capabilities to leave it (chroot, mount, mknod, ptrace, ...)
# out of its bounding set. A flawed unit's open root shell is then a root shell on the unit,
# not on the host.
JAIL_ENTER = r"""#!/bin/sh
# runs in a fresh mount namespace (unshare): build the private root, then enter it
set -e
J={jail}
mount -t tmpfs -o mode=755,size=16m hxjail "$J"
cd "$J"
mkdir -p usr etc/ssl etc/alternatives dev tmp var/lib/dpkg .{fs} .{initial}
ln -s usr/bin usr/sbin usr/lib usr/lib64 .
# every harness command over SSH or telnet enters here: few processes (builtins for empty
# files, one mount for a read-only bind) — it was 60 ms of CPU a command, now under 40
ro() {{ mount -o bind,ro "$1" "$2"; }}
ro /usr usr
for f in passwd shadow group hosts resolv.conf shells os-release ld.so.cache; do
  [ -e /etc/$f ] || continue; : > etc/$f; mount --bind /etc/$f etc/$f
done
ro /etc/ssl etc/ssl; ro /etc/alternatives etc/alternatives; ro /var/lib/dpkg var/lib/dpkg
for n in null zero random urandom tty; do : > dev/$n; mount --bind /dev/$n dev/$n; done
mount -t tmpfs -o mode=1777,size=16m hxtmp tmp
mount --bind {fs} .{fs}
ro {initial} .{initial}
for s in etc/mender var/lib/mender; do   # the firmware's own system directories, if any
  [ -d {fs}/$s ] || continue; mkdir -p $s; mount --bind {fs}/$s $s
done
set +e
export HOME={fs} PATH={path}
exec chroot "$J" /usr/bin/setpriv --bounding-set {caps} -- \
  /bin/sh -c 'cd "$0" && exec /bin/sh "$@"' {fs} "$@"
"""
JAIL_CAPS = "-all,+chown,+dac_override,+dac_read_search,+fowner,+fsetid,+setgid,+setuid"


# Every daemon of an emulated unit (SSH, web, telnet, FTP, the firmware agent) runs in a
# mount namespace of its own where every file system of the host is read-only (also /tmp:
# a daemon's temporary files go to the unit's own tmp/, TMPDIR), the other units'
# directories (their passwords, keys, consoles) are hidden and only the unit's own directory
# and its account files are writable. The daemons stay root inside the unit (they switch to
# the logged-in account, and the shell jail above needs mount to build its private root).
CONFINE = r"""#!/bin/sh
# runs in a fresh mount namespace (unshare): confine, then become the daemon
set -e
mount -o remount,bind,ro /
awk '{{print $5}}' /proc/self/mountinfo | sort -u | while read -r m; do
  case "$m" in /|/proc|/proc/*|/sys|/sys/*|/dev|/dev/*|/run/netns|/run/netns/*) continue;; esac
  case " {keep} " in *" $m "*) continue;; esac
  mount -o remount,bind,ro "$m" 2>/dev/null || true
done
mount --bind "{d}" "{d}"
mount -o remount,bind,rw "{d}"
for x in "{state}"/*; do
  [ -d "$x" ] && [ "$x" != "{d}" ] && [ "$x" != "{state}/_cloud" ] || continue
  mount -t tmpfs -o size=4k,mode=700 hxhidden "$x"
done
export TMPDIR="{d}/tmp"
exec "$@"
"""


def confined(d: Path, cmd: list[str], keep_rw: list[str]) -> list[str]:
    """`cmd` as a confined daemon of the unit whose directory is `d` (see CONFINE);
    `keep_rw`: the unit's account files (/etc/passwd ... bound over the host's by
    `ip netns exec`), which a password change writes."""
    (d / "tmp").mkdir(exist_ok=True)
    script = write(d / "confine.sh", CONFINE.format(d=d, state=d.parent,
                                                    keep=" ".join(keep_rw)), 0o755)
    return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", str(script),
            *cmd]


def jail_shell(d: Path, path: str) -> Path:
    """The unit's login shell (see JAIL_ENTER); `path`: its PATH inside."""
    (d / "jail").mkdir(parents=True, exist_ok=True)
    enter = write(d / "jail-enter.sh", JAIL_ENTER.format(
        jail=d / "jail", fs=d / "fs", initial=d / "initial", path=path, caps=JAIL_CAPS), 0o755)
    return write(d / "jail-shell", "#!/bin/sh\nexec unshare --mount --propagation private "
                 f"--pid --fork --kill-child -- /bin/sh {enter} \"$@\"\n", 0o755)
