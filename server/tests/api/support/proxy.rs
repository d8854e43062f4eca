//! Sori behind the real proxies it ships configurations for: nginx from
//! `deploy/nginx/sori.conf` and Caddy from `deploy/caddy/Caddyfile`, on loopback, over TLS
//! with a certificate authority of the test's own.
//!
//! A [`Deployment`] is a running set-up: the proxy, the Sori instances behind it (in-process
//! [`TestApp`]s), their database, and the CA a client must trust (`ca_file`). Dropping it,
//! also while a failed test unwinds, kills the proxy (a single process: nginx runs with
//! `master_process off`, so SIGKILL leaves no worker behind), stops the instances and drops
//! the database. [`shipped_nginx`] and [`shipped_caddy`] are the configurations as shipped;
//! the other builders are the broken set-ups issue #14 lists, each one change away from the
//! shipped one, for the tests (and `sori doctor`'s) that must tell them apart.
//!
//! The shipped files are used as they are, except for the lines they mark `# PLACEHOLDER`
//! (upstream, listen ports, certificate paths, public name), which this module replaces; a
//! placeholder it does not know, or a break whose text is missing, panics, so the shipped
//! file cannot drift away from what is tested. What it deliberately does not do: bind
//! anything but 127.0.0.1, touch the packaged services, or trust its CA system-wide.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::backend::store::scratch::ScratchDatabase;
use server::Config;

use super::TestApp;
use super::browser::Browser;
use super::socket::Socket;

const NGINX: &str = "/usr/sbin/nginx";
const CADDY: &str = "/usr/bin/caddy";
/// How long a proxy may take to answer its first request (Caddy makes its CA first).
const START_DEADLINE: Duration = Duration::from_secs(20);
/// Accounts one client address may create through a deployment (`SORI_SIGN_UP_PER_HOUR`).
pub const SIGN_UPS_PER_ADDRESS: u32 = 2;
/// The marker of the lines a test may replace in a shipped file.
const PLACEHOLDER: &str = "# PLACEHOLDER";

/// A file of the repository, by its path from the root (`deploy/...`).
pub fn shipped(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// Two different ports nothing listens on right now (both are held until both are chosen,
/// so the system cannot hand out the same one twice). They may be taken before the proxy
/// binds them: the builders then start over with new ports (see [`start_with_retries`]).
fn free_ports() -> (u16, u16) {
    let bind = || TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    let (first, second) = (bind(), bind());
    let port = |listener: &TcpListener| listener.local_addr().expect("a bound port").port();
    (port(&first), port(&second))
}

/// A certificate authority and a server certificate it signed for 127.0.0.1 and localhost,
/// made with the `openssl` CLI (scripts/setup.sh --test installs it) in a directory of
/// their own.
pub struct TestCa {
    dir: tempfile::TempDir,
}

impl TestCa {
    pub fn generate() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let run = |args: &[&str]| {
            let output = Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .output()
                .expect("openssl runs (scripts/setup.sh --test installs it)");
            assert!(
                output.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        // P-256 keys: generated in milliseconds, unlike RSA.
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        run(&[
            &["req", "-x509", "-nodes", "-days", "2"],
            &key[..],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-subj",
                "/CN=Sori test CA",
            ],
            &["-addext", "basicConstraints=critical,CA:TRUE"],
            &["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ]
        .concat());
        run(&[
            &["req", "-nodes"],
            &key[..],
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        ]
        .concat());
        std::fs::write(
            dir.path().join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .expect("the extensions file is written");
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ]);
        Self { dir }
    }

    /// The CA certificate (PEM), what `--ca` and clients trust.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn certificate_file(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }

    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }
}

/// An HTTP client that trusts only the CA in `ca_file` and follows no redirects.
pub fn client_trusting(ca_file: &Path) -> reqwest::Client {
    let pem = std::fs::read(ca_file).expect("the CA file is readable");
    let ca = reqwest::Certificate::from_pem(&pem).expect("a PEM certificate");
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client")
}

/// A TLS configuration for WebSocket clients that trusts only the CA in `ca_file`.
pub fn tls_trusting(ca_file: &Path) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(ca_file).expect("the CA file is readable") {
        roots
            .add(certificate.expect("a PEM certificate"))
            .expect("a usable CA certificate");
    }
    // The provider is named rather than left to the process default, which depends on the
    // features other crates happen to enable.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// The proxy process; killed when dropped.
struct Proxy {
    child: Child,
    /// Where its logs are, for failure messages.
    log: PathBuf,
}

impl Proxy {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_else(|_| "(no log)".into())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // One process each (nginx without a master, Caddy always): SIGKILL leaves nothing.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A proxy that exited before answering, and whether it was for a port in use.
struct StartFailed {
    port_taken: bool,
    log: String,
}

/// A running set-up. Fields drop in order: the proxy first, the instances, the database.
pub struct Deployment {
    proxy: Proxy,
    /// The instances behind the proxy, in upstream order.
    pub instances: Vec<TestApp>,
    _database: Option<ScratchDatabase>,
    /// `https://127.0.0.1:PORT`: what browsers (and `sori doctor`) use.
    pub url: String,
    /// `http://127.0.0.1:PORT`, the plain-HTTP listener of nginx (Caddy: its redirect port).
    pub http_url: String,
    /// The CA to trust for `url`.
    pub ca_file: PathBuf,
    // Dropped last: the proxy reads its certificate and keeps its files here.
    _ca: Option<TestCa>,
    _dir: tempfile::TempDir,
}

impl Deployment {
    /// `url` with `path`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// A client trusting this deployment's CA.
    pub fn client(&self) -> reqwest::Client {
        client_trusting(&self.ca_file)
    }

    /// A browser with no cookies, pointed at the proxy.
    pub fn browser(&self) -> Browser {
        Browser::with_client(&self.url, self.client())
    }

    /// Opens `/ws` through the proxy as `browser` would from `url`'s origin; the status when
    /// the upgrade is refused (anything but 101).
    pub async fn socket(&self, browser: &Browser) -> Result<Socket, u16> {
        let ws = self.url.replacen("https://", "wss://", 1);
        Socket::open_url(
            &format!("{ws}/ws"),
            browser.cookie.as_deref(),
            Some(&self.url),
            Some(tls_trusting(&self.ca_file)),
        )
        .await
    }

    /// The proxy's log, for assertion messages.
    pub fn proxy_log(&self) -> String {
        self.proxy.log()
    }
}

/// How the Sori instances behind a proxy are set up.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Instances {
    /// Several on one PostgreSQL database: the supported way to run more than one.
    SharedPostgres(usize),
    /// Two, each on a SQLite file of its own: what "no shared bus" looks like.
    SeparateSqlite,
}

/// Everything a builder may vary, starting from the shipped configuration.
#[derive(Clone, Copy)]
struct Setup {
    instances: Instances,
    /// Lines of the shipped file removed or replaced, each `(old, new)` (`new` empty: removed).
    nginx_breaks: &'static [(&'static str, &'static str)],
    /// `SORI_PUBLIC_ORIGIN` other than the URL, when set.
    wrong_origin: Option<&'static str>,
    /// `SORI_TRUSTED_PROXIES` naming loopback, where the proxy connects from.
    trust_the_proxy: bool,
    /// `SORI_PUBLIC_ORIGIN` written as the URL with `http://`: only the proxy's
    /// `X-Forwarded-Proto` says the request is https.
    origin_on_http: bool,
}

const SHIPPED: Setup = Setup {
    instances: Instances::SharedPostgres(2),
    nginx_breaks: &[],
    wrong_origin: None,
    trust_the_proxy: true,
    origin_on_http: false,
};

/// The shipped nginx in front of two instances on one PostgreSQL database.
pub async fn shipped_nginx() -> Deployment {
    start_nginx(SHIPPED).await
}

/// Broken 1: nginx passes no `Upgrade`/`Connection`, so no handshake reaches Sori as one.
pub async fn nginx_without_upgrade_headers() -> Deployment {
    start_nginx(Setup {
        nginx_breaks: &[
            ("    proxy_set_header Upgrade $http_upgrade;\n", ""),
            ("    proxy_set_header Connection $connection_upgrade;\n", ""),
        ],
        ..SHIPPED
    })
    .await
}

/// Broken 2: nginx cuts a socket after 5 s without a byte from Sori (heartbeat: 20 s).
pub async fn nginx_with_short_read_timeout() -> Deployment {
    start_nginx(Setup {
        nginx_breaks: &[("proxy_read_timeout 1h;", "proxy_read_timeout 5s;")],
        ..SHIPPED
    })
    .await
}

/// Broken 3: the instances believe they are served at another origin than the URL.
pub async fn nginx_with_wrong_public_origin() -> Deployment {
    start_nginx(Setup {
        wrong_origin: Some("https://chat.example.org"),
        ..SHIPPED
    })
    .await
}

/// Not broken: TLS ends at the trusted nginx, and `SORI_PUBLIC_ORIGIN` is written with
/// `http://`; nginx's `X-Forwarded-Proto https` makes the requests https. One instance.
pub async fn nginx_with_http_public_origin() -> Deployment {
    start_nginx(Setup {
        instances: Instances::SharedPostgres(1),
        origin_on_http: true,
        ..SHIPPED
    })
    .await
}

/// Broken 4: two instances behind one nginx, each on a SQLite database of its own.
pub async fn nginx_with_separate_databases() -> Deployment {
    start_nginx(Setup {
        instances: Instances::SeparateSqlite,
        ..SHIPPED
    })
    .await
}

/// Broken 5: TLS ends at nginx, and Sori does not trust it (no `SORI_TRUSTED_PROXIES`), so
/// it believes neither `X-Forwarded-Proto` nor `X-Forwarded-For`.
pub async fn nginx_without_trusted_proxies() -> Deployment {
    start_nginx(Setup {
        trust_the_proxy: false,
        ..SHIPPED
    })
    .await
}

/// Broken 6: `/ws` (and `/ws/probe`) answered by nginx itself with a static page.
pub async fn nginx_with_static_page_at_ws() -> Deployment {
    start_nginx(Setup {
        nginx_breaks: &[(
            "    location /ws {\n        proxy_pass http://sori;\n",
            "    location /ws {\n        default_type text/html;\n        \
             return 200 \"<!doctype html><title>Static</title><p>Not Sori.</p>\\n\";\n",
        )],
        ..SHIPPED
    })
    .await
}

/// The shipped Caddyfile in front of one instance (on PostgreSQL, as the nginx ones).
pub async fn shipped_caddy() -> Deployment {
    start_with_retries(|| async {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (https, http) = free_ports();
        let url = format!("https://127.0.0.1:{https}");
        let (database, instances) = spawn_instances(
            Setup {
                instances: Instances::SharedPostgres(1),
                ..SHIPPED
            },
            &url,
        )
        .await;
        let upstreams: Vec<String> = instances.iter().map(|app| app.addr.to_string()).collect();
        let config = dir.path().join("Caddyfile");
        std::fs::write(
            &config,
            caddyfile(&shipped("deploy/caddy/Caddyfile"), https, http, &upstreams),
        )
        .expect("the Caddyfile is written");
        let log = dir.path().join("caddy.log");
        let log_file = std::fs::File::create(&log).expect("the log file is created");
        let child = Command::new(CADDY)
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&config)
            // Caddy keeps its CA and certificates under XDG_DATA_HOME (else HOME): here, in the
            // test's directory, never the system's.
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("the log file"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|error| {
                panic!("{CADDY} does not start ({error}): run scripts/setup.sh --test")
            });
        let proxy = Proxy { child, log };
        let ca_file = dir.path().join("data/caddy/pki/authorities/local/root.crt");
        let mut deployment = Deployment {
            proxy,
            instances,
            _database: database,
            url,
            http_url: format!("http://127.0.0.1:{http}"),
            ca_file,
            _ca: None,
            _dir: dir,
        };
        answering(&mut deployment).await.map(|()| deployment)
    })
    .await
}

/// The shipped Caddyfile with the line after each `# PLACEHOLDER` comment replaced (the
/// marker has a line of its own there, where `caddy fmt` keeps it): global options for a
/// loopback test (no admin endpoint, Caddy's internal CA, never installed in the system's
/// trust store, the test's ports), its address bound to 127.0.0.1 only, and its instances.
fn caddyfile(shipped: &str, https: u16, http: u16, upstreams: &[String]) -> String {
    let mut out = String::with_capacity(shipped.len());
    let mut marked = false;
    for line in shipped.lines() {
        let trimmed = line.trim_start();
        if std::mem::take(&mut marked) {
            let replaced = if trimmed.starts_with("email ") {
                format!(
                    "\tadmin off\n\tlocal_certs\n\tskip_install_trust\n\
                     \thttp_port {http}\n\thttps_port {https}\n"
                )
            } else if trimmed.starts_with("reverse_proxy ") {
                format!("\treverse_proxy {} {{\n", upstreams.join(" "))
            } else if !line.starts_with(char::is_whitespace) && trimmed.ends_with(" {") {
                format!("https://127.0.0.1:{https} {{\n\tbind 127.0.0.1\n")
            } else {
                panic!("the test does not know this placeholder: {line}");
            };
            out.push_str(&replaced);
            continue;
        }
        marked = trimmed.starts_with(PLACEHOLDER);
        out.push_str(line);
        out.push('\n');
    }
    assert!(!marked, "the Caddyfile ends with a placeholder comment");
    out
}

/// `shipped` with each line marked [`PLACEHOLDER`] replaced by what `replace` returns for
/// it (with its newline; empty removes it). A marked line `replace` does not know panics.
fn replace_placeholders(shipped: &str, mut replace: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(shipped.len());
    for line in shipped.lines() {
        if line.contains(PLACEHOLDER) && !line.trim_start().starts_with('#') {
            let replaced = replace(line)
                .unwrap_or_else(|| panic!("the test does not know this placeholder: {line}"));
            out.push_str(&replaced);
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The shipped nginx file with the test's upstream, ports and certificate.
fn nginx_site(shipped: &str, https: u16, http: u16, upstreams: &[String], ca: &TestCa) -> String {
    let mut upstream_written = false;
    replace_placeholders(shipped, |line| {
        let trimmed = line.trim_start();
        let replaced = if trimmed.starts_with("server ") {
            // The first instance line becomes all of the test's; the others go.
            if std::mem::replace(&mut upstream_written, true) {
                String::new()
            } else {
                upstreams
                    .iter()
                    .map(|addr| format!("    server {addr};\n"))
                    .collect()
            }
        } else if trimmed.starts_with("listen [::]") {
            // Loopback only: no IPv6 wildcard.
            String::new()
        } else if trimmed.starts_with("listen 80 ") {
            format!("    listen 127.0.0.1:{http} default_server;\n")
        } else if trimmed.starts_with("listen 443 ") {
            format!("    listen 127.0.0.1:{https} ssl default_server;\n")
        } else if trimmed.starts_with("server_name ") {
            // Kept: the default_server answers 127.0.0.1 as it would an IP address Host.
            format!("{line}\n")
        } else if trimmed.starts_with("ssl_certificate_key ") {
            format!("    ssl_certificate_key {};\n", ca.key_file().display())
        } else if trimmed.starts_with("ssl_certificate ") {
            format!("    ssl_certificate {};\n", ca.certificate_file().display())
        } else {
            return None;
        };
        Some(replaced)
    })
}

/// The main configuration around the site file, everything it writes kept in `dir`. One
/// process (`master_process off`): strict round robin, and nothing left if it is killed.
fn nginx_main(dir: &Path, https: u16, http: u16, ca: &TestCa) -> String {
    let dir = dir.display();
    // Another site on the same ports, loaded first as Debian's sites-enabled/default would
    // be: without the shipped `default_server`, nginx would answer an unknown Host (an IP
    // address) with this one, so the health check test can fail.
    let other_site = format!(
        "    server {{\n        listen 127.0.0.1:{http};\n        listen 127.0.0.1:{https} ssl;\n\
         \x20       server_name other.example;\n\
         \x20       ssl_certificate {};\n        ssl_certificate_key {};\n\
         \x20       return 404 \"another site\\n\";\n    }}\n",
        ca.certificate_file().display(),
        ca.key_file().display()
    );
    format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {dir}/nginx.pid;\n\
         error_log {dir}/error.log notice;\nevents {{ worker_connections 512; }}\n\
         http {{\n    access_log {dir}/access.log;\n    client_body_temp_path {dir}/client_body;\n\
         \x20   proxy_temp_path {dir}/proxy;\n    fastcgi_temp_path {dir}/fastcgi;\n\
         \x20   uwsgi_temp_path {dir}/uwsgi;\n    scgi_temp_path {dir}/scgi;\n\
         {other_site}\
         \x20   include {dir}/sori.conf;\n}}\n"
    )
}

async fn start_nginx(setup: Setup) -> Deployment {
    start_with_retries(|| async {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let ca = TestCa::generate();
        let (https, http) = free_ports();
        let url = format!("https://127.0.0.1:{https}");
        let (database, instances) = spawn_instances(setup, &url).await;
        let upstreams: Vec<String> = instances.iter().map(|app| app.addr.to_string()).collect();
        let mut site = nginx_site(
            &shipped("deploy/nginx/sori.conf"),
            https,
            http,
            &upstreams,
            &ca,
        );
        for (old, new) in setup.nginx_breaks {
            assert!(
                site.contains(old),
                "the shipped nginx file no longer has {old:?}"
            );
            site = site.replace(old, new);
        }
        std::fs::write(dir.path().join("sori.conf"), site).expect("the site is written");
        let main = dir.path().join("nginx.conf");
        std::fs::write(&main, nginx_main(dir.path(), https, http, &ca))
            .expect("the configuration is written");
        let log = dir.path().join("error.log");
        let child = Command::new(NGINX)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&main)
            // The log for the moments before the configuration is read (its default is
            // under /var/log).
            .arg("-e")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("{NGINX} does not start ({error}): run scripts/setup.sh --test")
            });
        let ca_file = ca.ca_file();
        let mut deployment = Deployment {
            proxy: Proxy { child, log },
            instances,
            _database: database,
            url,
            http_url: format!("http://127.0.0.1:{http}"),
            ca_file,
            _ca: Some(ca),
            _dir: dir,
        };
        answering(&mut deployment).await.map(|()| deployment)
    })
    .await
}

/// Starts a set-up, and starts over (new ports, new instances) when a port chosen was taken
/// before the proxy bound it. The instances must know the proxy's origin before it runs.
async fn start_with_retries<F, Fut>(mut start: F) -> Deployment
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Deployment, StartFailed>>,
{
    let mut attempts = 0;
    loop {
        attempts += 1;
        match start().await {
            Ok(deployment) => return deployment,
            Err(failed) if failed.port_taken && attempts < 3 => continue,
            Err(failed) => panic!("the proxy did not start:\n{}", failed.log),
        }
    }
}

async fn spawn_instances(setup: Setup, url: &str) -> (Option<ScratchDatabase>, Vec<TestApp>) {
    let origin = match setup.wrong_origin {
        Some(wrong) => wrong.to_owned(),
        None if setup.origin_on_http => url.replacen("https://", "http://", 1),
        None => url.to_owned(),
    };
    let adjust = |config: &mut Config| {
        config.public_origin = Some(origin.clone());
        if setup.trust_the_proxy {
            // The proxy connects from loopback: from there X-Forwarded-* is believed.
            config.auth.trusted_proxies = vec![
                "127.0.0.1/32".parse().expect("a network"),
                "::1/128".parse().expect("a network"),
            ];
        }
        config.messages.messages_per_window = 0;
        // Low, so a test can tell whose address Sori sees: accounts from distinct forwarded
        // addresses pass only when the proxy is trusted.
        config.auth.sign_up_per_hour = SIGN_UPS_PER_ADDRESS;
    };
    match setup.instances {
        Instances::SharedPostgres(count) => {
            let database = ScratchDatabase::create().await;
            let mut instances = Vec::with_capacity(count);
            // One after the other: the first runs the migrations.
            for _ in 0..count {
                instances.push(TestApp::spawn_on_postgres(database.url(), adjust).await);
            }
            (Some(database), instances)
        }
        Instances::SeparateSqlite => {
            let first = TestApp::spawn_with(adjust).await;
            let second = TestApp::spawn_with(adjust).await;
            (None, vec![first, second])
        }
    }
}

/// Waits until `/healthz` answers through the proxy over https, trusting the deployment's
/// CA (Caddy writes its CA only once it runs), or the proxy exits.
async fn answering(deployment: &mut Deployment) -> Result<(), StartFailed> {
    let deadline = Instant::now() + START_DEADLINE;
    let https: SocketAddr = deployment
        .url
        .trim_start_matches("https://")
        .parse()
        .expect("a loopback address");
    loop {
        if let Ok(Some(status)) = deployment.proxy.child.try_wait() {
            let log = deployment.proxy.log();
            return Err(StartFailed {
                port_taken: log.contains("Address already in use")
                    || log.contains("address already in use"),
                log: format!("exited with {status}:\n{log}"),
            });
        }
        let connecting = tokio::net::TcpStream::connect(https);
        let listening = tokio::time::timeout(Duration::from_millis(200), connecting)
            .await
            .is_ok_and(|connected| connected.is_ok());
        if listening && deployment.ca_file.exists() {
            let healthz = deployment
                .client()
                .get(deployment.at("/healthz"))
                .send()
                .await;
            if healthz.is_ok_and(|response| response.status() == 200) {
                return Ok(());
            }
        }
        assert!(
            Instant::now() < deadline,
            "the proxy did not answer /healthz within {START_DEADLINE:?}:\n{}",
            deployment.proxy.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
