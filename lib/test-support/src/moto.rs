//! moto (PyPI `moto[server]`), an independent second AWS backend, on a free loopback port.

use std::time::Duration;

/// How long moto may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running moto server, stopped when dropped.
#[derive(Debug)]
pub struct Moto {
    _child: tokio::process::Child,
    pub port: u16,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

/// Starts moto and waits until it accepts connections; panics, naming the install command,
/// when it does not start.
pub async fn moto() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = tokio::process::Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs");
    let url = format!("http://127.0.0.1:{port}");
    let ready = tokio::time::timeout(START_TIMEOUT, async {
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        ready.is_ok(),
        "moto did not start on {url}: is it installed? scripts/test installs it (pip install 'moto[server]')"
    );
    Moto {
        _child: child,
        port,
        url,
    }
}
