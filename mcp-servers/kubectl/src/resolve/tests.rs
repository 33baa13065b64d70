//! Unit tests and a property test of the resolver.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

use super::*;

#[allow(clippy::too_many_arguments)]
fn c(
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    singular: &str,
    short: &[&str],
    namespaced: bool,
    preferred: bool,
) -> Candidate {
    Candidate {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        plural: plural.into(),
        singular: singular.into(),
        short_names: short.iter().map(|s| (*s).to_owned()).collect(),
        namespaced,
        preferred,
    }
}

/// A discovery list like a real cluster's, with the traps: the same name in several
/// groups, two versions of one group, a custom `Secret` kind, a group whose first label
/// looks like a version, a version that does not.
fn cluster() -> Vec<Candidate> {
    let mut v = known();
    v.extend([
        c(
            "events.k8s.io",
            "v1",
            "Event",
            "events",
            "event",
            &["ev"],
            true,
            true,
        ),
        c(
            "autoscaling",
            "v1",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            "horizontalpodautoscaler",
            &["hpa"],
            true,
            false,
        ),
        c(
            "metrics.k8s.io",
            "v1beta1",
            "PodMetrics",
            "pods",
            "",
            &[],
            true,
            true,
        ),
        c(
            "metrics.k8s.io",
            "v1beta1",
            "NodeMetrics",
            "nodes",
            "",
            &[],
            false,
            true,
        ),
        c(
            "example.com",
            "v1",
            "Secret",
            "secrets",
            "secret",
            &["xsec"],
            true,
            true,
        ),
        c(
            "secrets-store.csi.x-k8s.io",
            "v1",
            "SecretProviderClass",
            "secretproviderclasses",
            "secretproviderclass",
            &["spc"],
            true,
            true,
        ),
        c(
            "a.example.com",
            "v1",
            "Widget",
            "widgets",
            "widget",
            &[],
            true,
            true,
        ),
        c(
            "b.example.com",
            "v1",
            "Widget",
            "widgets",
            "widget",
            &[],
            true,
            true,
        ),
        c(
            "v1alpha1.foo.io",
            "v1",
            "Thing",
            "things",
            "thing",
            &[],
            false,
            true,
        ),
        c(
            "bar.io",
            "beta",
            "Gadget",
            "gadgets",
            "gadget",
            &["gd"],
            true,
            true,
        ),
        c(
            "bar.io",
            "v2",
            "Gadget",
            "gadgets",
            "gadget",
            &["gd"],
            true,
            false,
        ),
    ]);
    v
}

fn res(s: &str) -> Resource {
    resolve(s, &cluster()).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

#[test]
fn every_form_resolves() {
    for s in [
        "deploy",
        "Deployment",
        "DEPLOYMENTS",
        " deployment\t",
        "deployments.apps",
        "deployments.v1.apps",
        "deploy.v1.apps",
        "apps/v1/Deployment",
        "apps/v1/deployments",
    ] {
        assert_eq!(res(s).qualified(), "deployments.v1.apps", "{s:?}");
    }
    for s in [
        "po",
        "pods.v1",
        "v1/Pod",
        "core/v1/Pod",
        "pods.core",
        "pods.v1.core",
    ] {
        assert_eq!(res(s).qualified(), "pods.v1", "{s:?}");
    }
    let np = res("networkpolicies.networking.k8s.io");
    assert_eq!(np.kind, "NetworkPolicy");
    assert!(!res("nodes").namespaced);
}

#[test]
fn core_then_built_in_groups_then_preferred_versions() {
    assert_eq!(res("pods").group, "", "core beats metrics.k8s.io");
    assert_eq!(res("pods.metrics.k8s.io").kind, "PodMetrics");
    assert_eq!(res("events").group, "");
    assert_eq!(res("events.events.k8s.io").group, "events.k8s.io");
    assert_eq!(res("hpa").version, "v2", "the preferred version");
    assert_eq!(res("hpa.v1.autoscaling").version, "v1");
    assert_eq!(res("autoscaling/v1/HorizontalPodAutoscaler").version, "v1");
    assert_eq!(
        res("gd").version,
        "beta",
        "preferred, not the newest-looking"
    );
    assert_eq!(res("gadgets.v2.bar.io").version, "v2");
    assert_eq!(res("things.v1.v1alpha1.foo.io").kind, "Thing");
}

#[test]
fn ambiguous_and_unknown_say_what_to_do() {
    let e = resolve("widget", &cluster()).unwrap_err();
    assert!(matches!(e, ResolveError::Ambiguous { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("widgets.v1.a.example.com"), "{msg}");
    assert!(msg.contains("widgets.v1.b.example.com"), "{msg}");
    assert!(msg.contains("PLURAL.VERSION.GROUP"), "{msg}");
    assert_eq!(res("widgets.v1.b.example.com").group, "b.example.com");
    for s in [
        "gizmo",
        "deployments.v2.apps",
        "secrets.v2",
        "apps/v9/Deployment",
        "pods.nope",
    ] {
        let e = resolve(s, &cluster()).unwrap_err();
        assert!(matches!(e, ResolveError::Unknown { .. }), "{s:?}: {e}");
        assert!(e.to_string().contains(FORMS), "{s:?}: {e}");
    }
}

#[test]
fn malformed_spellings_are_errors_listing_the_forms() {
    for s in [
        "Secret.v1/x",
        "secret./",
        "secrets.core/v1",
        "secrets.v1.",
        "pods/",
        "/v1/Pod",
        "v1//Pod",
        "pods..v1",
        ".pods",
        "a/b/c/d",
        "pod s",
        "pøds",
        "secret\u{200b}",
        "ѕecret",
        "",
        "   ",
        "po_ds",
        "-pods",
        "apps/v1/deployments.apps",
        "apps/v1.0/Deployment",
        "pods\n.v1",
    ] {
        let e = resolve(s, &cluster()).unwrap_err();
        assert!(matches!(e, ResolveError::Malformed { .. }), "{s:?}: {e}");
        assert!(e.to_string().contains("Accepted forms"), "{s:?}: {e}");
        assert!(e.to_string().contains("apps/v1/Deployment"), "{s:?}: {e}");
    }
}

#[test]
fn every_spelling_of_core_secrets_resolves_to_them() {
    for s in [
        "Secret",
        "secrets",
        "SECRET",
        "secrets.v1",
        "Secret.v1",
        "v1/Secret",
        "core/v1/Secret",
        "core/v1/secrets",
        "secrets.core",
        "secret.v1.core",
    ] {
        let r = res(s);
        assert!(r.is_secret(), "{s:?} resolved to {r:?}");
        assert_eq!(resolve_known(s), Some(Ok(r)), "{s:?}: the fast path agrees");
    }
    assert!(!res("secrets.example.com").is_secret(), "a custom group");
    assert!(!res("xsec").is_secret());
    assert!(!res("SecretProviderClass").is_secret());
}

#[test]
fn qualified_resolves_to_exactly_that_resource() {
    for cand in cluster() {
        let r = cand.resource();
        assert_eq!(res(&r.qualified()), r, "{}", r.qualified());
    }
}

#[test]
fn the_fast_path_takes_only_what_discovery_would_answer() {
    assert_eq!(resolve_known("deploy").unwrap().unwrap().group, "apps");
    assert!(matches!(
        resolve_known("Secret.v1/x"),
        Some(Err(ResolveError::Malformed { .. }))
    ));
    for s in [
        "widget",
        "hpa.v1.autoscaling",
        "networkpolicies.networking.k8s.io",
    ] {
        assert_eq!(resolve_known(s), None, "{s:?}");
    }
    // Every spelling of every known kind answers what the full discovery list answers.
    for k in known() {
        for name in [&k.plural, &k.singular, &k.kind]
            .into_iter()
            .chain(&k.short_names)
        {
            assert_eq!(
                resolve_known(name),
                Some(resolve(name, &cluster())),
                "{name}"
            );
        }
    }
}

/// Fragments around secret/secrets/Secret, versions, groups, separators, spaces and case.
const FRAGMENTS: &[&str] = &[
    "secret", "secrets", "Secret", "SECRETS", "sEcReT", "sec", "ret", "s", "S", "v1", "V1", "core",
    "CORE", "apps", "x", "example", "com", ".", "/", " ", "\t", "-", "pods", "e", "t",
];

fn fragment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(FRAGMENTS.to_vec())
}

/// Every spelling of up to three fragments, exhaustively: the property holds, and is not
/// vacuous (many of them do resolve to core Secrets).
#[test]
fn every_short_spelling_resolving_to_core_secrets_names_them() {
    let cluster = cluster();
    let mut secrets = 0;
    let mut spellings = vec![String::new()];
    let mut last = spellings.clone();
    for _ in 0..3 {
        last = last
            .iter()
            .flat_map(|s| FRAGMENTS.iter().map(move |f| format!("{s}{f}")))
            .collect();
        spellings.extend(last.iter().cloned());
    }
    for s in &spellings {
        let hit = [
            resolve(s, &cluster).ok(),
            resolve_known(s).and_then(Result::ok),
        ]
        .into_iter()
        .flatten()
        .any(|r| r.is_secret());
        if hit {
            secrets += 1;
            assert!(sopilot_protocol::may_name_secrets(s), "{s:?}");
        }
    }
    assert!(secrets > 50, "only {secrets} spellings resolved to Secrets");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// The property that failed before: whatever resolves to core Secrets is caught by the
    /// spelling-only check the policy uses where no discovery is at hand.
    #[test]
    fn resolving_to_core_secrets_implies_may_name_secrets(
        parts in prop::collection::vec(fragment(), 0..8)
    ) {
        let s: String = parts.concat();
        let cluster = cluster();
        let resolved = [resolve(&s, &cluster).ok(), resolve_known(&s).and_then(Result::ok)];
        if resolved.into_iter().flatten().any(|r| r.is_secret()) {
            prop_assert!(sopilot_protocol::may_name_secrets(&s), "{s:?}");
        }
    }

    /// Arbitrary text never panics the resolver.
    #[test]
    fn arbitrary_text_never_panics(s in ".{0,40}") {
        let _ = resolve(&s, &cluster());
        let _ = resolve_known(&s);
    }
}
