//! Evaluates the chart's matchConditions with the `cel` interpreter, binding
//! the variables the API server binds for admission webhooks.
//!
//! The interpreter is not the API server's cel-go: it checks the expressions'
//! meaning (what they select) on sample objects. The `has()` guards are also
//! exercised here, since like cel-go the interpreter fails on a missing map
//! key that is not guarded.

use anyhow::{Result, anyhow};
use cel::{Context, Program, Value as CelValue};
use serde_json::{Value, json};

/// Evaluates `expression` for a request on `object` (and `old_object` for
/// UPDATE). Errors are returned, not mapped to false: the API server would
/// apply the failurePolicy to them.
pub fn evaluate(expression: &str, object: &Value, old_object: Option<&Value>) -> Result<bool> {
    let program =
        Program::compile(expression).map_err(|e| anyhow!("does not compile: {e}\n{expression}"))?;
    let mut ctx = Context::default();
    ctx.add_variable("object", object.clone())
        .map_err(|e| anyhow!("binding object: {e}"))?;
    ctx.add_variable("oldObject", old_object.cloned().unwrap_or(Value::Null))
        .map_err(|e| anyhow!("binding oldObject: {e}"))?;
    let operation = if old_object.is_some() {
        "UPDATE"
    } else {
        "CREATE"
    };
    ctx.add_variable(
        "request",
        json!({
            "operation": operation,
            "kind": {
                "group": object["apiVersion"].as_str().and_then(|v| v.split_once('/')).map(|(g, _)| g).unwrap_or(""),
                "kind": object["kind"],
            },
        }),
    )
    .map_err(|e| anyhow!("binding request: {e}"))?;
    match program.execute(&ctx) {
        Ok(CelValue::Bool(b)) => Ok(b),
        Ok(other) => Err(anyhow!("evaluated to {other:?}, not a bool")),
        Err(e) => Err(anyhow!("evaluation error: {e}")),
    }
}

/// Evaluates all conditions as the API server does: the webhook is called
/// only when every one is true.
pub fn all_match(conditions: &[String], object: &Value) -> Result<bool> {
    for c in conditions {
        if !evaluate(c, object, None)? {
            return Ok(false);
        }
    }
    Ok(true)
}
