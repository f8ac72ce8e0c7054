//! values.schema.json rejects wrong types, unknown keys and bad enum values
//! with helm's message naming the offending key.

use chart_tests::try_render;

fn rejected(sets: &[&str], expected: &[&str]) {
    let err = match try_render(sets) {
        Ok(_) => panic!("helm accepted {sets:?}"),
        Err(e) => e,
    };
    assert!(
        err.contains("don't meet the specifications of the schema"),
        "{sets:?}: not a schema error:\n{err}"
    );
    for e in expected {
        assert!(err.contains(e), "{sets:?}: expected {e:?} in:\n{err}");
    }
}

#[test]
fn wrong_types_are_rejected() {
    rejected(
        &["replicaCount=two"],
        &["at '/replicaCount'", "got string, want integer"],
    );
    rejected(
        &["webhook.timeoutSeconds=soon"],
        &["at '/webhook/timeoutSeconds'", "want integer"],
    );
    rejected(
        &["mutating.enabled=maybe"],
        &["at '/mutating/enabled'", "want boolean"],
    );
    rejected(
        &["webhook.annotationKeyContains=velero.io/"],
        &["at '/webhook/annotationKeyContains'", "want array"],
    );
    rejected(
        &["podLabels.team=1"],
        &["at '/podLabels/team'", "want string"],
    );
}

#[test]
fn unknown_keys_are_rejected() {
    rejected(
        &["replicas=3"],
        &["additional properties 'replicas' not allowed"],
    );
    rejected(
        &["image.name=x"],
        &["at '/image'", "additional properties 'name' not allowed"],
    );
    rejected(
        &["webhook.failurePolicyy=Fail"],
        &["at '/webhook'", "'failurePolicyy' not allowed"],
    );
    rejected(
        &["certificates.certManager.issuer=x"],
        &["at '/certificates/certManager'", "'issuer' not allowed"],
    );
    rejected(
        &["config.normalize.pinContainers=true"],
        &["at '/config/normalize'", "'pinContainers' not allowed"],
    );
}

#[test]
fn bad_enum_values_are_rejected() {
    rejected(
        &["webhook.failurePolicy=fail"],
        &[
            "at '/webhook/failurePolicy'",
            "value must be one of 'Ignore', 'Fail'",
        ],
    );
    rejected(
        &["certificates.mode=selfSigned"],
        &[
            "at '/certificates/mode'",
            "'certManager'",
            "'existingSecret'",
            "'helm'",
        ],
    );
    rejected(
        &["webhook.defaultMode=audit"],
        &["at '/webhook/defaultMode'", "'enforce'", "'warn'", "'off'"],
    );
    rejected(&["logFormat=yaml"], &["at '/logFormat'"]);
    rejected(&["logLevel=trace"], &["at '/logLevel'"]);
    rejected(
        &["config.veleroVersion=1.10"],
        &["at '/config/veleroVersion'"],
    );
    rejected(
        &["mutating.reinvocationPolicy=Always"],
        &["at '/mutating/reinvocationPolicy'"],
    );
}

#[test]
fn out_of_range_and_malformed_values_are_rejected() {
    rejected(
        &["webhook.timeoutSeconds=31"],
        &["at '/webhook/timeoutSeconds'", "30"],
    );
    rejected(
        &["webhook.timeoutSeconds=0"],
        &["at '/webhook/timeoutSeconds'"],
    );
    rejected(&["image.digest=latest"], &["at '/image/digest'"]);
    // A quote would break out of the CEL string literal.
    rejected(
        &["webhook.annotationKeyContains[0]=a')||true||('"],
        &["at '/webhook/annotationKeyContains/0'"],
    );
    rejected(
        &["webhook.excludeNamespaces[0]=Not_A_Namespace"],
        &["at '/webhook/excludeNamespaces/0'"],
    );
}

/// The schema accepts exactly the releases the webhook knows: every one of them, and no
/// patch it would refuse at start-up.
#[test]
fn velero_versions_agree_with_the_webhook() {
    use velero_hooks::VeleroVersion;
    let mut accepted: Vec<String> = VeleroVersion::all().map(|v| v.to_string()).collect();
    accepted.extend(["1.12", "v1.14.1", "1.18", "1.19"].map(str::to_owned));
    for value in &accepted {
        assert!(VeleroVersion::parse(value).is_some(), "{value}");
        let set = format!("config.veleroVersion={value}");
        try_render(&[set.as_str()]).unwrap_or_else(|e| panic!("{value} rejected:\n{e}"));
    }
    for value in ["1.18.3", "1.19.0", "1.11", "1.14.2", "latest"] {
        assert!(VeleroVersion::parse(value).is_none(), "{value}");
        let set = format!("config.veleroVersion={value}");
        rejected(&[set.as_str()], &["at '/config/veleroVersion'"]);
    }
}

#[test]
fn valid_overrides_pass_the_schema() {
    for sets in [
        &["webhook.failurePolicy=Fail"][..],
        &["certificates.mode=helm"],
        &["logFormat=text", "logLevel=debug"],
        &["podDisruptionBudget.minAvailable=50%"],
        &["config.veleroVersion=1.19"],
        &["config.veleroVersion=1.14.1"],
        &["config.veleroVersion=main"],
    ] {
        try_render(sets).unwrap_or_else(|e| panic!("{sets:?} rejected:\n{e}"));
    }
}
