//! minijinja, configured for SOPs: strict about undefined values, bounded by fuel, and
//! checked for variables that are neither parameters nor `trigger`.

use std::collections::BTreeSet;

use minijinja::{Environment, UndefinedBehavior};

/// Bounds the work one template may do while rendering.
const FUEL: u64 = 50_000;

/// The environment every SOP template is compiled and rendered in.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    // minijinja's globals (`namespace`, `range`, ...) would silently stand in for an
    // undeclared parameter of the same name; SOP templates see parameters and `trigger` only.
    let globals: Vec<String> = env.globals().map(|(g, _)| g.to_owned()).collect();
    for g in globals {
        env.remove_global(&g);
    }
    env
}

/// Names a template may use: parameters and the trigger.
fn allowed(name: &str, params: &BTreeSet<String>) -> bool {
    name == "trigger" || params.contains(name)
}

/// Checks a template string: it must compile and use only parameters and `trigger`.
pub fn check(env: &Environment<'_>, text: &str, params: &BTreeSet<String>) -> Result<(), String> {
    let tmpl = env.template_from_str(text).map_err(|e| {
        format!(
            "template {text:?} does not compile: {}",
            e.detail().unwrap_or(&e.to_string())
        )
    })?;
    let mut unknown: Vec<String> = tmpl
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !allowed(v, params))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort();
    let declared = if params.is_empty() {
        "this SOP declares no parameters".to_owned()
    } else {
        format!(
            "parameters: {}",
            params.iter().cloned().collect::<Vec<_>>().join(", ")
        )
    };
    Err(format!(
        "template {text:?} uses {}, which is neither a parameter nor trigger.* ({declared})",
        unknown.join(", ")
    ))
}

/// The variables of an expression, if it compiles.
pub fn expression_variables(env: &Environment<'_>, expr: &str) -> Option<Vec<String>> {
    env.compile_expression(expr)
        .ok()
        .map(|e| e.undeclared_variables(false).into_iter().collect())
}

/// Whether an expression (the inside of `{{ }}`) uses only known names, so rendering it is
/// ours to do; anything else (Helm's `.Values.x`, unknown names) is left untouched.
pub fn is_ours(env: &Environment<'_>, expr: &str, params: &BTreeSet<String>) -> bool {
    expression_variables(env, expr)
        .is_some_and(|vars| !vars.is_empty() && vars.iter().all(|v| allowed(v, params)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn checks_variables() {
        let env = environment();
        let p = params(&["namespace", "pod"]);
        assert!(check(&env, "{{ namespace }}", &p).is_ok());
        assert!(check(&env, "{{ trigger.alarm.name }}-{{ pod }}", &p).is_ok());
        let err = check(&env, "{{ pdo }}", &p).unwrap_err();
        assert!(
            check(&env, "{{ namespace }}", &params(&["ns"])).is_err(),
            "globals are not parameters"
        );
        assert!(
            err.contains("uses pdo") && err.contains("namespace, pod"),
            "{err}"
        );
        assert!(
            check(&env, "{{ namespace", &p)
                .unwrap_err()
                .contains("does not compile")
        );
    }

    #[test]
    fn only_our_expressions_are_ours() {
        let env = environment();
        let p = params(&["namespace"]);
        assert!(is_ours(&env, " namespace ", &p));
        assert!(is_ours(&env, "trigger.alarm.name | upper", &p));
        assert!(!is_ours(&env, " .Values.image.tag ", &p));
        assert!(!is_ours(&env, "Values.image.tag", &p));
        assert!(!is_ours(&env, "'literal'", &p));
    }
}
