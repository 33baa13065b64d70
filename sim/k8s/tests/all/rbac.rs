//! RBAC for ServiceAccounts through the router (tower `oneshot`): the TokenRequest API
//! issues a token, requests with it are authorized from Roles, ClusterRoles and bindings,
//! denials are the API server's 403 `Status`, unknown tokens 401, and the simulator's own
//! kubeconfig token (or none) stays cluster-admin.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sopilot_sim_k8s::{KubeState, Limits, kube_router};
use tower::ServiceExt;

const USER: &str = "system:serviceaccount:sopilot:sopilot";

async fn send(
    router: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&body).unwrap()
    };
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        router
            .clone()
            .oneshot(request.body(Body::from(body)).unwrap()),
    )
    .await
    .expect("the router answered in time")
    .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The payment cluster, a ServiceAccount `sopilot/sopilot` allowed to read pods (and
/// namespaces) everywhere and pod logs in `payment` only, and a token for it.
async fn with_account() -> (Router, String) {
    let router =
        kube_router(KubeState::new(&common::payment_scenario(), 7, Limits::default()).unwrap());
    let admin = Some("sopilot-sim-token");
    for (uri, object) in [
        (
            "/api/v1/namespaces",
            json!({"metadata": {"name": "sopilot"}}),
        ),
        (
            "/api/v1/namespaces/sopilot/serviceaccounts",
            json!({"metadata": {"name": "sopilot"}}),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            json!({"metadata": {"name": "pod-reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods", "namespaces"], "verbs": ["get", "list"]}]}),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            json!({"metadata": {"name": "sopilot-pod-reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "pod-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "sopilot", "namespace": "sopilot"}]}),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/namespaces/payment/roles",
            json!({"metadata": {"name": "log-reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}]}),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/namespaces/payment/rolebindings",
            json!({"metadata": {"name": "sopilot-logs"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "log-reader"},
            "subjects": [{"kind": "Group", "name": "system:serviceaccounts:sopilot"}]}),
        ),
    ] {
        let (code, answer) = send(&router, "POST", uri, admin, object).await;
        assert_eq!(code, StatusCode::CREATED, "{uri}: {answer}");
    }
    let (code, answer) = send(
        &router,
        "POST",
        "/api/v1/namespaces/sopilot/serviceaccounts/sopilot/token",
        None,
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}}),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["kind"], "TokenRequest");
    assert!(
        answer["status"]["expirationTimestamp"].is_string(),
        "{answer}"
    );
    let token = answer["status"]["token"].as_str().unwrap().to_owned();
    (router, token)
}

#[tokio::test]
async fn an_account_may_do_what_its_roles_allow_and_nothing_else() {
    let (router, token) = with_account().await;
    let t = Some(token.as_str());
    for uri in [
        "/api/v1/namespaces/payment/pods",
        "/api/v1/pods",
        &format!("/api/v1/namespaces/payment/pods/{}/log", common::CRASH_POD),
        "/api/v1/namespaces/payment",
        "/api",
        "/apis/apps/v1",
        "/version",
    ] {
        let (code, answer) = send(&router, "GET", uri, t, Value::Null).await;
        assert_eq!(code, StatusCode::OK, "{uri}: {answer}");
    }
    let (code, status) = send(
        &router,
        "GET",
        "/apis/apps/v1/namespaces/payment/deployments",
        t,
        Value::Null,
    )
    .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert_eq!(
        status,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": format!("deployments.apps is forbidden: User \"{USER}\" cannot list resource \"deployments\" in API group \"apps\" in the namespace \"payment\""),
               "reason": "Forbidden", "details": {"group": "apps", "kind": "deployments"}, "code": 403})
    );
    // The Role in payment grants logs there only.
    let (code, status) = send(
        &router,
        "GET",
        "/api/v1/namespaces/default/pods/x/log",
        t,
        Value::Null,
    )
    .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert_eq!(
        status["message"],
        format!(
            "pods \"x\" is forbidden: User \"{USER}\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"default\""
        )
    );
    assert_eq!(status["details"], json!({"name": "x", "kind": "pods"}));
    let (code, status) = send(
        &router,
        "DELETE",
        &format!("/api/v1/namespaces/payment/pods/{}", common::CRASH_POD),
        t,
        Value::Null,
    )
    .await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{status}");
    let (code, status) = send(
        &router,
        "GET",
        "/api/v1/namespaces/payment/secrets",
        t,
        Value::Null,
    )
    .await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{status}");
    let (code, status) = send(&router, "PATCH", "/api/v1/nodes/ip-10-0-1-45", t, json!({})).await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .ends_with("cannot patch resource \"nodes\" in API group \"\" at the cluster scope"),
        "{status}"
    );
    // The admin is unaffected, with the kubeconfig's token or none.
    for admin in [Some("sopilot-sim-token"), None] {
        let (code, _) = send(
            &router,
            "GET",
            "/apis/apps/v1/namespaces/payment/deployments",
            admin,
            Value::Null,
        )
        .await;
        assert_eq!(code, StatusCode::OK);
    }
}

#[tokio::test]
async fn self_subject_access_reviews_answer_for_the_caller() {
    let (router, token) = with_account().await;
    let review = |namespace: &str, verb: &str, resource: &str, sub: &str| {
        json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
               "spec": {"resourceAttributes": {"namespace": namespace, "verb": verb, "resource": resource, "subresource": sub}}})
    };
    let uri = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
    for (body, allowed) in [
        (review("payment", "get", "pods", "log"), true),
        (review("default", "get", "pods", "log"), false),
        (review("payment", "list", "pods", ""), true),
        (review("payment", "delete", "pods", ""), false),
        (review("", "list", "pods", ""), true),
    ] {
        let (code, answer) = send(&router, "POST", uri, Some(&token), body.clone()).await;
        assert_eq!(code, StatusCode::CREATED, "{answer}");
        assert_eq!(answer["status"]["allowed"], allowed, "{body}: {answer}");
    }
    let (_, answer) = send(
        &router,
        "POST",
        uri,
        Some(&token),
        review("payment", "get", "pods", "log"),
    )
    .await;
    assert_eq!(
        answer["status"]["reason"],
        "RBAC: allowed by RoleBinding \"sopilot-logs/payment\" of Role \"log-reader\" to Group \"system:serviceaccounts:sopilot\""
    );
    let (_, answer) = send(
        &router,
        "POST",
        uri,
        None,
        review("payment", "delete", "nodes", ""),
    )
    .await;
    assert_eq!(answer["status"]["allowed"], true, "the admin may: {answer}");
}

#[tokio::test]
async fn a_binding_to_a_missing_role_is_named_in_the_denial() {
    let (router, token) = with_account().await;
    let binding = json!({"metadata": {"name": "gone"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "deleted-role"},
        "subjects": [{"kind": "ServiceAccount", "name": "sopilot", "namespace": "sopilot"}]});
    let (code, _) = send(
        &router,
        "POST",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/payment/rolebindings",
        None,
        binding,
    )
    .await;
    assert_eq!(code, StatusCode::CREATED);
    let (code, status) = send(
        &router,
        "GET",
        "/api/v1/namespaces/payment/services",
        Some(&token),
        Value::Null,
    )
    .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert!(
        status["message"].as_str().unwrap().ends_with(
            "in the namespace \"payment\": RBAC: clusterrole.rbac.authorization.k8s.io \"deleted-role\" not found"
        ),
        "{status}"
    );
}

#[tokio::test]
async fn unknown_and_revoked_tokens_are_unauthorized() {
    let (router, token) = with_account().await;
    let (code, status) = send(
        &router,
        "GET",
        "/api/v1/pods",
        Some("not-a-token"),
        Value::Null,
    )
    .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    assert_eq!(
        status,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
    );
    let (code, _) = send(&router, "GET", "/version", Some("not-a-token"), Value::Null).await;
    assert_eq!(
        code,
        StatusCode::UNAUTHORIZED,
        "discovery needs a known token too"
    );
    // A token dies with its ServiceAccount.
    let (code, _) = send(
        &router,
        "DELETE",
        "/api/v1/namespaces/sopilot/serviceaccounts/sopilot",
        None,
        Value::Null,
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = send(&router, "GET", "/api/v1/pods", Some(&token), Value::Null).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, status) = send(
        &router,
        "POST",
        "/api/v1/namespaces/sopilot/serviceaccounts/nobody/token",
        None,
        json!({}),
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(status["message"], "serviceaccounts \"nobody\" not found");
    let (code, status) = send(
        &router,
        "POST",
        "/api/v1/namespaces/sopilot/serviceaccounts/sopilot/token",
        None,
        json!({"spec": {"expirationSeconds": 60}}),
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "the account is gone: {status}");
}
