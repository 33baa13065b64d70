//! Two electors against the simulated Kubernetes API (kube-rs, real HTTP): exactly one leads;
//! when the leader is cut off from the API, its term ends before the other's begins, and
//! the other takes over only once the lease expired; a released lease is taken at once; a
//! stale `resourceVersion` is refused with 409.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sopilot_runtime::CancellationToken;
use sopilot_sim_k8s::{KubeOptions, KubernetesScenario, RunningKube};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use super::lease::{LeaseApi, LeaseError};
use super::{Elector, LeaderOptions, Leadership, Term, Timing, while_leading};
use crate::metrics::Metrics;
use crate::schedule::TokioClock;

const LEASE: &str = "sopilot-leader";

fn timing() -> Timing {
    Timing {
        lease_duration: Duration::from_secs(3),
        renew_deadline: Duration::from_secs(2),
        retry_period: Duration::from_millis(500),
    }
}

async fn sim() -> RunningKube {
    sopilot_sim_k8s::start(&KubernetesScenario::default(), KubeOptions::default())
        .await
        .unwrap()
}

fn client(addr: SocketAddr) -> kube::Client {
    let mut config = kube::Config::new(format!("http://{addr}").parse().unwrap());
    config.default_namespace = "default".into();
    config.connect_timeout = Some(Duration::from_secs(2));
    config.read_timeout = Some(Duration::from_secs(2));
    kube::Client::try_from(config).unwrap()
}

/// A TCP relay to the API that can be cut: a network partition of one replica.
struct Relay {
    addr: SocketAddr,
    cut: CancellationToken,
}

async fn relay(to: SocketAddr) -> Relay {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cut = CancellationToken::new();
    let stop = cut.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            if stop.is_cancelled() {
                continue; // dropped: the connection fails
            }
            let stop = stop.clone();
            tokio::spawn(async move {
                let Ok(mut outbound) = TcpStream::connect(to).await else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    () = stop.cancelled() => {}
                }
            });
        }
    });
    Relay { addr, cut }
}

/// (when, who, "began"/"ended", fencing)
type Log = Arc<Mutex<Vec<(Instant, &'static str, &'static str, u64)>>>;

struct Replica {
    leadership: Leadership,
    stop: CancellationToken,
    metrics: Arc<Metrics>,
}

fn replica(name: &'static str, api: SocketAddr, log: &Log) -> Replica {
    let options = LeaderOptions {
        namespace: None,
        name: LEASE.into(),
        timing: timing(),
        identity: format!("{name}-0001"),
    };
    let metrics = Arc::new(Metrics::default());
    let clock = Arc::new(TokioClock::starting_at(chrono::Utc::now()));
    let (elector, leadership) = Elector::new(client(api), &options, clock, metrics.clone());
    let stop = CancellationToken::new();
    tokio::spawn(elector.run(stop.clone()));
    let log = log.clone();
    tokio::spawn(while_leading(
        leadership.clone(),
        stop.clone(),
        move |term: Term| {
            let log = log.clone();
            async move {
                log.lock()
                    .unwrap()
                    .push((Instant::now(), name, "began", term.fencing));
                term.stop().cancelled().await;
                log.lock()
                    .unwrap()
                    .push((Instant::now(), name, "ended", term.fencing));
            }
        },
    ));
    Replica {
        leadership,
        stop,
        metrics,
    }
}

async fn until_leading(r: &Replica, within: Duration) -> Instant {
    let start = Instant::now();
    while r.leadership.current().is_none() {
        assert!(start.elapsed() < within, "no leadership within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Instant::now()
}

fn entry(log: &Log, who: &str, what: &str) -> (Instant, u64) {
    let log = log.lock().unwrap();
    let e = log
        .iter()
        .find(|e| e.1 == who && e.2 == what)
        .unwrap_or_else(|| panic!("{who} {what} not in the log"));
    (e.0, e.3)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leads_and_a_cut_off_leader_stops_before_the_other_takes_over() {
    let sim = sim().await;
    let relay = relay(sim.kubernetes_addr()).await;
    let log: Log = Arc::default();
    let a = replica("a", relay.addr, &log);
    until_leading(&a, Duration::from_secs(10)).await;
    let b = replica("b", sim.kubernetes_addr(), &log);

    // For 2 s (4 retry periods of b), a keeps leading and b never does.
    let watch_until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < watch_until {
        assert!(a.leadership.current().is_some());
        assert!(b.leadership.current().is_none());
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        a.metrics.leader.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // a created the lease: nobody led before it.
    assert_eq!(a.leadership.current().unwrap().previous_until, None);

    // a is cut off from the API: it cannot renew.
    let cut_at = Instant::now();
    relay.cut.cancel();
    let took_over = until_leading(&b, Duration::from_secs(15)).await;
    let (a_ended, a_term) = entry(&log, "a", "ended");
    let (b_began, b_term) = entry(&log, "b", "began");
    let t = timing();
    // Fencing: a's term ended (within its renew deadline) before b's began...
    assert!(
        a_ended < b_began,
        "a ended {:?} after b began",
        a_ended - b_began
    );
    assert!(a_ended - cut_at <= t.renew_deadline + Duration::from_millis(500));
    // ...and b waited for the lease to expire: at least a lease duration after it last saw a
    // renewal (at most a retry period before the cut).
    assert!(
        took_over - cut_at >= t.lease_duration - t.retry_period - Duration::from_millis(200),
        "b took over {:?} after the cut",
        took_over - cut_at
    );
    assert_eq!((a_term, b_term), (0, 1));
    // b took a's lease: a may have worked until b last saw it renewed, before b's term.
    let b_now = b.leadership.current().unwrap();
    assert!(
        b_now.previous_until.is_some_and(|t| t < b_now.began),
        "{b_now:?}"
    );
    let lease = sim.get("Lease", Some("default"), LEASE).unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "b-0001");
    assert_eq!(lease["spec"]["leaseTransitions"], 1);
    assert_eq!(lease["spec"]["leaseDurationSeconds"], 3);
    // Only one term each: a, cut off, never led again.
    assert_eq!(log.lock().unwrap().len(), 3, "{:?}", log.lock().unwrap());
    a.stop.cancel();
    b.stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_shutting_down_releases_the_lease_for_the_next_at_once() {
    let sim = sim().await;
    let log: Log = Arc::default();
    let a = replica("a", sim.kubernetes_addr(), &log);
    until_leading(&a, Duration::from_secs(10)).await;
    let b = replica("b", sim.kubernetes_addr(), &log);
    // b has seen a's lease before a leaves.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(b.leadership.current().is_none());
    let left = Instant::now();
    a.stop.cancel();
    let took_over = until_leading(&b, Duration::from_secs(10)).await;
    // Well before the 3 s lease would have expired: a released it.
    assert!(
        took_over - left < Duration::from_millis(1500),
        "{:?}",
        took_over - left
    );
    assert!(entry(&log, "a", "ended").0 < entry(&log, "b", "began").0);
    assert_eq!(entry(&log, "b", "began").1, 1);
    b.stop.cancel();
}

#[tokio::test]
async fn a_stale_resource_version_is_refused_with_409() {
    let sim = sim().await;
    let api = LeaseApi::new(
        client(sim.kubernetes_addr()),
        "default",
        LEASE,
        Duration::from_secs(5),
    );
    assert!(api.read().await.unwrap().is_none());
    let now = chrono::Utc::now();
    let mine = super::decide::decide("a", None, now, &timing());
    let record = mine.record().unwrap().clone();
    let created = api.create(&record).await.unwrap();
    assert!(matches!(
        api.create(&record).await,
        Err(LeaseError::Conflict { .. })
    ));
    let read = api.read().await.unwrap().unwrap();
    assert_eq!(read.record, record);
    // Two replicas replace from the same read: the first wins, the second gets 409.
    let mut b = record.clone();
    b.holder = "b".into();
    b.transitions = 1;
    api.replace(&created.version, &b).await.unwrap();
    let mut c = record.clone();
    c.holder = "c".into();
    let refused = api.replace(&created.version, &c).await.unwrap_err();
    assert!(matches!(refused, LeaseError::Conflict { .. }), "{refused}");
    assert!(
        refused.to_string().contains("default/sopilot-leader"),
        "{refused}"
    );
    assert_eq!(api.read().await.unwrap().unwrap().record.holder, "b");
}
