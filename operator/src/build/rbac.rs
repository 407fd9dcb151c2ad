//! The broker pods' identity: a ServiceAccount, and a Role that lets it
//! read and label its own pods (a broker moves `ferromq.io/role` when it
//! wins or loses an election), bound together by a RoleBinding.
//!
//! The Role names the pods it covers, so a broker can touch no other pod
//! in the namespace.

use super::meta::{Component, Names, object_meta};
use crate::validate::Cluster;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};

/// The broker pods' ServiceAccount.
pub fn service_account(c: &Cluster) -> ServiceAccount {
    ServiceAccount {
        metadata: object_meta(c, Names::broker_rbac(c), Component::Broker),
        ..ServiceAccount::default()
    }
}

/// get and patch on exactly this broker's pods.
pub fn role(c: &Cluster) -> Role {
    let pods = (0..c.replicas)
        .map(|ordinal| Names::broker_pod(c, ordinal))
        .collect();
    Role {
        metadata: object_meta(c, Names::broker_rbac(c), Component::Broker),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["pods".to_string()]),
            resource_names: Some(pods),
            verbs: vec!["get".to_string(), "patch".to_string()],
            ..PolicyRule::default()
        }]),
    }
}

/// Grants [`role`] to [`service_account`].
pub fn role_binding(c: &Cluster) -> RoleBinding {
    let name = Names::broker_rbac(c);
    RoleBinding {
        metadata: object_meta(c, name.clone(), Component::Broker),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".to_string(),
            kind: "Role".to_string(),
            name: name.clone(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".to_string(),
            name,
            namespace: Some(c.namespace.to_string()),
            ..Subject::default()
        }]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::test_support::{MINIMAL, cluster, parse};

    #[test]
    fn role_lets_brokers_get_and_patch_their_own_pods() {
        let rb = parse(MINIMAL);
        let role = role(&cluster(&rb));
        let rules = role.rules.expect("rules");
        assert_eq!(rules.len(), 1);
        let rule = &rules[0];
        assert_eq!(rule.api_groups.as_deref(), Some(&[String::new()][..]));
        assert_eq!(rule.resources.as_deref(), Some(&["pods".to_string()][..]));
        assert_eq!(rule.verbs, ["get", "patch"]);
        assert_eq!(
            rule.resource_names.as_deref(),
            Some(&["orders-0".to_string(), "orders-1".into(), "orders-2".into()][..])
        );
    }

    #[test]
    fn binding_ties_role_to_service_account() {
        let rb = parse(MINIMAL);
        let c = cluster(&rb);
        let binding = role_binding(&c);
        assert_eq!(binding.role_ref.kind, "Role");
        assert_eq!(binding.role_ref.name, "orders-broker");
        let subject = &binding.subjects.expect("subjects")[0];
        assert_eq!(subject.kind, "ServiceAccount");
        assert_eq!(
            subject.name,
            service_account(&c).metadata.name.expect("name")
        );
        assert_eq!(subject.namespace.as_deref(), Some("shop"));
    }
}
