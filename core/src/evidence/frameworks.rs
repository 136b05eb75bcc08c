//! The framework items the evidence report's sections give evidence for, and the matrix
//! that shows an auditor, item by item, where the evidence is (or that Stint has none).

use super::SectionKey;
use serde::{Deserialize, Serialize};

/// OWASP Non-Human Identities Top 10, as the 2025 list numbers them.
pub const OWASP_NHI: [(&str, &str); 10] = [
    ("NHI1", "Improper Offboarding"),
    ("NHI2", "Secret Leakage"),
    ("NHI3", "Vulnerable Third-Party NHI"),
    ("NHI4", "Insecure Authentication"),
    ("NHI5", "Overprivileged NHI"),
    ("NHI6", "Insecure Cloud Deployment Configurations"),
    ("NHI7", "Long-Lived Secrets"),
    ("NHI8", "Environment Isolation"),
    ("NHI9", "NHI Reuse"),
    ("NHI10", "Human Use of NHI"),
];

/// The NIST Cybersecurity Framework 2.0 subcategories the sections speak to.
pub const NIST_CSF: [(&str, &str); 8] = [
    (
        "GV.RR-02",
        "Roles, responsibilities, and authorities related to cybersecurity risk management are \
         established, communicated, understood, and enforced",
    ),
    (
        "ID.AM-08",
        "Systems, hardware, software, services, and data are managed throughout their life cycles",
    ),
    (
        "PR.AA-01",
        "Identities and credentials for authorized users, services, and hardware are managed by \
         the organization",
    ),
    (
        "PR.AA-05",
        "Access permissions, entitlements, and authorizations are defined in a policy, managed, \
         enforced, and reviewed, and incorporate the principles of least privilege and \
         separation of duties",
    ),
    (
        "PR.DS-01",
        "The confidentiality, integrity, and availability of data-at-rest are protected",
    ),
    (
        "PR.PS-04",
        "Log records are generated and made available for continuous monitoring",
    ),
    (
        "DE.CM-03",
        "Personnel activity and technology usage are monitored to find potentially adverse events",
    ),
    ("RS.MI-01", "Incidents are contained"),
];

/// SOC 2 (2017 Trust Services Criteria) common criteria.
pub const SOC2: [(&str, &str); 5] = [
    (
        "CC6.1",
        "Logical access security software, infrastructure, and architectures over protected \
         information assets",
    ),
    (
        "CC6.2",
        "Credentials are issued only to authorized users and removed when access is no longer \
         authorized",
    ),
    (
        "CC6.3",
        "Access is authorized, modified, and removed based on roles, least privilege, and \
         segregation of duties",
    ),
    ("CC7.2", "System components are monitored for anomalies"),
    ("CC7.4", "Identified security incidents are responded to"),
];

/// What one section gives evidence for, by the items' ids.
pub struct Mapping {
    pub owasp_nhi: &'static [&'static str],
    pub nist_csf: &'static [&'static str],
    pub soc2: &'static [&'static str],
}

/// The mapping of each section: a claim the report makes to auditors, so each entry says
/// what Stint enforces, not what it merely touches.
pub fn mapping(section: SectionKey) -> Mapping {
    use SectionKey as S;
    let (owasp_nhi, nist_csf, soc2): (&[&str], &[&str], &[&str]) = match section {
        // Access reachable only through short, approved grants, not standing secrets.
        S::Coverage => (&["NHI7", "NHI5"], &["PR.AA-01", "PR.AA-05"], &["CC6.1"]),
        // Each access tied to a task, a ticket and someone else's approval.
        S::Requests => (&["NHI5"], &["PR.AA-05"], &["CC6.2", "CC6.3"]),
        // Credentials that live minutes or hours and end on their own.
        S::Grants => (
            &["NHI7", "NHI5"],
            &["PR.AA-01", "PR.AA-05"],
            &["CC6.2", "CC6.3"],
        ),
        // People taking an identity's access directly, each use judged afterwards.
        S::BreakGlass => (
            &["NHI10", "NHI5"],
            &["DE.CM-03", "PR.AA-05"],
            &["CC6.3", "CC7.2"],
        ),
        // Someone answers for every identity; an orphan can be given nothing.
        S::Ownership => (&["NHI1"], &["GV.RR-02", "ID.AM-08"], &["CC6.2"]),
        // Everything that gives access, put to whoever answers for it, and acted on.
        S::AccessReviews => (
            &["NHI1", "NHI5"],
            &["PR.AA-05", "GV.RR-02"],
            &["CC6.2", "CC6.3"],
        ),
        // Secrets that bypass JIT, found and brought to an end.
        S::Standing => (&["NHI7", "NHI2"], &["PR.AA-01", "ID.AM-08"], &["CC6.1"]),
        // A Stint credential found where it should not be is revoked at once.
        S::Leaks => (&["NHI2"], &["RS.MI-01", "DE.CM-03"], &["CC7.4"]),
        // Access taken away downstream when the grant ends, confirmed or flagged.
        S::Revocations => (&["NHI1", "NHI7"], &["PR.AA-05"], &["CC6.2"]),
        // The trail every other figure is read from, and proof it was not rewritten.
        S::Audit => (&[], &["PR.PS-04", "PR.DS-01"], &["CC7.2"]),
    };
    Mapping {
        owasp_nhi,
        nist_csf,
        soc2,
    }
}

/// One framework item and the sections that give evidence for it (none: Stint's records
/// say nothing about it, and the report says so rather than leaving it out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FrameworkRow {
    pub id: String,
    pub name: String,
    pub sections: Vec<SectionKey>,
}

/// Every item of a framework, in its own order, with the sections mapped to it.
pub fn matrix(
    items: &[(&str, &str)],
    mapped: impl Fn(&Mapping) -> &'static [&'static str],
) -> Vec<FrameworkRow> {
    items
        .iter()
        .map(|(id, name)| FrameworkRow {
            id: id.to_string(),
            name: name.to_string(),
            sections: SectionKey::ALL
                .into_iter()
                .filter(|s| mapped(&mapping(*s)).contains(id))
                .collect(),
        })
        .collect()
}

/// "NHI7 Long-Lived Secrets" for an id of one of the lists above.
pub fn describe(id: &str) -> String {
    OWASP_NHI
        .iter()
        .chain(NIST_CSF.iter())
        .chain(SOC2.iter())
        .find(|(known, _)| *known == id)
        .map(|(id, name)| format!("{id} {name}"))
        .unwrap_or_else(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapped_id_is_a_listed_item() {
        for section in SectionKey::ALL {
            let m = mapping(section);
            for id in m.owasp_nhi {
                assert!(OWASP_NHI.iter().any(|(k, _)| k == id), "{id}");
            }
            for id in m.nist_csf {
                assert!(NIST_CSF.iter().any(|(k, _)| k == id), "{id}");
            }
            for id in m.soc2 {
                assert!(SOC2.iter().any(|(k, _)| k == id), "{id}");
            }
        }
    }

    #[test]
    fn the_matrix_names_items_without_evidence_too() {
        let owasp = matrix(&OWASP_NHI, |m| m.owasp_nhi);
        assert_eq!(owasp.len(), 10);
        assert_eq!(owasp[0].id, "NHI1");
        assert!(owasp[0].sections.contains(&SectionKey::Ownership));
        let third_party = owasp.iter().find(|r| r.id == "NHI3").unwrap();
        assert!(third_party.sections.is_empty());
        // Every listed CSF subcategory has some section behind it.
        assert!(
            matrix(&NIST_CSF, |m| m.nist_csf)
                .iter()
                .all(|r| !r.sections.is_empty())
        );
    }
}
