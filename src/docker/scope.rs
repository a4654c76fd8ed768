//! Which Docker resources belong to a cleanup's scope: pure decisions over the
//! engine's listings, so they can be tested without an engine.

use super::{Resource, Scope};
use crate::cleanup::CleanupLevel;
use bollard::models::{ContainerSummary, ImageSummary, MountPointTypeEnum, Network, Volume};
use std::collections::{BTreeSet, HashMap};

/// The label docker-compose puts on everything it creates for a project.
pub const PROJECT_LABEL: &str = "com.docker.compose.project";
/// The label docker-compose puts on a service's containers.
pub const SERVICE_LABEL: &str = "com.docker.compose.service";

impl Scope {
    /// A scope of `project` narrowed by `labels` (ANDed).
    pub fn new(project: impl Into<String>, labels: Vec<(String, String)>) -> Scope {
        Scope {
            project: project.into(),
            labels,
        }
    }

    /// The engine-side filter: `label=<project label>` and every extra label.
    pub fn filters(&self) -> HashMap<String, Vec<String>> {
        let mut labels = vec![format!("{PROJECT_LABEL}={}", self.project)];
        labels.extend(self.labels.iter().map(|(k, v)| format!("{k}={v}")));
        HashMap::from([("label".to_string(), labels)])
    }

    /// Whether a resource with `labels` is in the scope. Checked again on our
    /// side after the engine's filter, so a filter the engine ignores (an old
    /// API, a proxy) can never widen what gets removed.
    pub fn matches(&self, labels: &HashMap<String, String>) -> bool {
        labels.get(PROJECT_LABEL) == Some(&self.project)
            && self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
    }

    /// Whether `name` carries the project's prefix the way compose names
    /// what it creates: `<project>_x` (compose v1) or `<project>-x` (v2).
    pub fn has_prefix(&self, name: &str) -> bool {
        let name = name.trim_start_matches('/');
        name.strip_prefix(self.project.as_str())
            .is_some_and(|rest| rest.len() > 1 && (rest.starts_with('_') || rest.starts_with('-')))
    }

    /// Name-based matches (unlabelled leftovers, images named after the
    /// project) only widen a scope that is the whole project: with extra
    /// label filters a name cannot tell which part of the project it is in.
    fn by_name(&self) -> bool {
        self.labels.is_empty()
    }
}

/// An anonymous volume: the engine names it with 64 hex digits.
pub fn is_anonymous_volume(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

fn container_name(c: &ContainerSummary) -> String {
    c.names
        .as_ref()
        .and_then(|n| n.first())
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_else(|| short(c.id.as_deref().unwrap_or_default()))
}

fn container_resource(c: &ContainerSummary) -> Option<Resource> {
    Some(Resource {
        kind: "container".into(),
        name: container_name(c),
        id: c.id.clone()?,
    })
}

/// The containers to remove: those in the scope, and at deep also the ones
/// named with the project's prefix that lost every compose label.
pub fn select_containers(
    scope: &Scope,
    level: CleanupLevel,
    scoped: &[ContainerSummary],
    all: &[ContainerSummary],
) -> Vec<Resource> {
    let empty = HashMap::new();
    let mut seen = BTreeSet::new();
    let in_scope = scoped
        .iter()
        .filter(|c| scope.matches(c.labels.as_ref().unwrap_or(&empty)));
    let orphans = all.iter().filter(|c| {
        level == CleanupLevel::Deep
            && scope.by_name()
            && !c
                .labels
                .as_ref()
                .unwrap_or(&empty)
                .contains_key(PROJECT_LABEL)
            && c.names.iter().flatten().any(|n| scope.has_prefix(n))
    });
    in_scope
        .chain(orphans)
        .filter_map(container_resource)
        .filter(|r| seen.insert(r.id.clone()))
        .collect()
}

/// Anonymous volumes mounted by the containers about to go: listed before the
/// containers are removed, since afterwards nothing ties them to the project.
pub fn anonymous_volumes(containers: &[ContainerSummary], chosen: &[Resource]) -> Vec<Resource> {
    let ids: BTreeSet<&str> = chosen.iter().map(|r| r.id.as_str()).collect();
    let mut names = BTreeSet::new();
    for c in containers {
        if !c.id.as_deref().is_some_and(|id| ids.contains(id)) {
            continue;
        }
        for m in c.mounts.iter().flatten() {
            let Some(name) = m.name.as_deref() else {
                continue;
            };
            if m.typ == Some(MountPointTypeEnum::VOLUME) && is_anonymous_volume(name) {
                names.insert(name.to_string());
            }
        }
    }
    names.into_iter().map(volume_resource).collect()
}

fn volume_resource(name: String) -> Resource {
    Resource {
        kind: "volume".into(),
        id: name.clone(),
        name,
    }
}

/// The scope's networks.
pub fn select_networks(scope: &Scope, networks: &[Network]) -> Vec<Resource> {
    let empty = HashMap::new();
    networks
        .iter()
        .filter(|n| scope.matches(n.labels.as_ref().unwrap_or(&empty)))
        .filter_map(|n| {
            Some(Resource {
                kind: "network".into(),
                name: n.name.clone()?,
                id: n.id.clone()?,
            })
        })
        .collect()
}

/// The scope's volumes; with `keep_named` (safe mode below deep) only the
/// anonymous ones.
pub fn select_volumes(scope: &Scope, volumes: &[Volume], keep_named: bool) -> Vec<Resource> {
    volumes
        .iter()
        .filter(|v| scope.matches(&v.labels))
        .filter(|v| !keep_named || is_anonymous_volume(&v.name))
        .map(|v| volume_resource(v.name.clone()))
        .collect()
}

/// The project's images, one resource per reference to remove: every tag of
/// an image labelled for the scope (its id when it has none), and the tags
/// named `<project>_*`/`<project>-*` (only that tag: the image may have other
/// names that are not the project's).
pub fn select_images(scope: &Scope, images: &[ImageSummary]) -> Vec<Resource> {
    let mut out = Vec::new();
    for image in images {
        let tags: Vec<&String> = image
            .repo_tags
            .iter()
            .filter(|t| t.as_str() != "<none>:<none>")
            .collect();
        let chosen: Vec<&String> = if scope.matches(&image.labels) {
            tags
        } else if scope.by_name() {
            tags.into_iter()
                .filter(|t| scope.has_prefix(repository(t)))
                .collect()
        } else {
            Vec::new()
        };
        if chosen.is_empty() && scope.matches(&image.labels) {
            out.push(Resource {
                kind: "image".into(),
                name: UNTAGGED.into(),
                id: image.id.clone(),
            });
        }
        out.extend(chosen.into_iter().map(|t| Resource {
            kind: "image".into(),
            name: t.clone(),
            id: image.id.clone(),
        }));
    }
    out
}

/// The name of an image with no tag left; it is removed by id.
pub const UNTAGGED: &str = "<none>";

/// The repository part of a `repo[:tag]` reference (a registry port's colon
/// is not a tag's).
fn repository(reference: &str) -> &str {
    match reference.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => reference,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::MountPoint;

    fn scope(labels: &[(&str, &str)]) -> Scope {
        Scope::new(
            "etl",
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn container(id: &str, name: &str, l: &[(&str, &str)]) -> ContainerSummary {
        ContainerSummary {
            id: Some(id.into()),
            names: Some(vec![format!("/{name}")]),
            labels: Some(labels(l)),
            ..Default::default()
        }
    }

    #[test]
    fn prefix_is_the_project_then_a_separator() {
        let s = scope(&[]);
        for yes in ["etl_db_1", "etl-db-1", "/etl_web"] {
            assert!(s.has_prefix(yes), "{yes}");
        }
        for no in ["etl", "etl_", "etlx_db", "other_etl_db", "xetl-db"] {
            assert!(!s.has_prefix(no), "{no}");
        }
    }

    #[test]
    fn scope_needs_the_project_and_every_extra_label() {
        let s = scope(&[("tier", "a")]);
        assert!(s.matches(&labels(&[(PROJECT_LABEL, "etl"), ("tier", "a")])));
        assert!(!s.matches(&labels(&[(PROJECT_LABEL, "etl"), ("tier", "b")])));
        assert!(!s.matches(&labels(&[(PROJECT_LABEL, "etl")])));
        assert!(!s.matches(&labels(&[(PROJECT_LABEL, "other"), ("tier", "a")])));
        let f = s.filters();
        assert_eq!(
            f["label"],
            [format!("{PROJECT_LABEL}=etl"), "tier=a".to_string()]
        );
    }

    #[test]
    fn orphans_only_at_deep_and_only_unlabelled_prefixed_ones() {
        let s = scope(&[]);
        let mine = container("1", "etl_db_1", &[(PROJECT_LABEL, "etl")]);
        let orphan = container("2", "etl_old_1", &[]);
        let theirs = container("3", "etl_x_1", &[(PROJECT_LABEL, "other")]);
        let stranger = container("4", "web", &[]);
        let all = [mine.clone(), orphan, theirs, stranger];
        let ids = |v: Vec<Resource>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(
            ids(select_containers(
                &s,
                CleanupLevel::Standard,
                std::slice::from_ref(&mine),
                &all
            )),
            ["1"]
        );
        assert_eq!(
            ids(select_containers(
                &s,
                CleanupLevel::Deep,
                std::slice::from_ref(&mine),
                &all
            )),
            ["1", "2"]
        );
        // A narrowed scope never reaches for names.
        let narrow = scope(&[("tier", "a")]);
        assert!(select_containers(&narrow, CleanupLevel::Deep, &[mine], &all).is_empty());
    }

    #[test]
    fn a_scoped_listing_is_checked_again_on_our_side() {
        let s = scope(&[]);
        let wrong = container("9", "web", &[(PROJECT_LABEL, "other")]);
        assert!(select_containers(&s, CleanupLevel::Light, &[wrong], &[]).is_empty());
    }

    #[test]
    fn anonymous_volumes_come_from_the_chosen_containers_mounts() {
        let anon = "a".repeat(64);
        let mut c = container("1", "etl_db_1", &[(PROJECT_LABEL, "etl")]);
        c.mounts = Some(vec![
            MountPoint {
                typ: Some(MountPointTypeEnum::VOLUME),
                name: Some(anon.clone()),
                ..Default::default()
            },
            MountPoint {
                typ: Some(MountPointTypeEnum::VOLUME),
                name: Some("etl_data".into()),
                ..Default::default()
            },
            MountPoint {
                typ: Some(MountPointTypeEnum::BIND),
                source: Some("/srv".into()),
                ..Default::default()
            },
        ]);
        let mut other = c.clone();
        other.id = Some("2".into());
        other.mounts.as_mut().unwrap()[0].name = Some("b".repeat(64));
        let chosen = select_containers(&scope(&[]), CleanupLevel::Deep, &[c.clone()], &[]);
        let vols = anonymous_volumes(&[c, other], &chosen);
        assert_eq!(
            vols.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            [anon.as_str()]
        );
    }

    #[test]
    fn safe_mode_keeps_named_volumes() {
        let vol = |name: &str| Volume {
            name: name.into(),
            labels: labels(&[(PROJECT_LABEL, "etl")]),
            ..Default::default()
        };
        let anon = "c".repeat(64);
        let vols = [vol("etl_data"), vol(&anon)];
        assert_eq!(select_volumes(&scope(&[]), &vols, false).len(), 2);
        let kept = select_volumes(&scope(&[]), &vols, true);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].name, anon);
    }

    #[test]
    fn images_by_label_or_by_compose_name() {
        let image = |id: &str, tags: &[&str], l: &[(&str, &str)]| ImageSummary {
            id: id.into(),
            repo_tags: tags.iter().map(|t| t.to_string()).collect(),
            labels: labels(l),
            ..Default::default()
        };
        let images = [
            image("sha256:1", &["etl_app:latest"], &[]),
            image("sha256:2", &["base:1", "etl-web:latest"], &[]),
            image(
                "sha256:3",
                &["built:1", "built:2"],
                &[(PROJECT_LABEL, "etl")],
            ),
            image("sha256:4", &[], &[(PROJECT_LABEL, "etl")]),
            image(
                "sha256:5",
                &["other_app:latest", "registry:5000/etl:1"],
                &[],
            ),
        ];
        let names: Vec<String> = select_images(&scope(&[]), &images)
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(
            names,
            [
                "etl_app:latest",
                "etl-web:latest",
                "built:1",
                "built:2",
                UNTAGGED
            ]
        );
        let narrow: Vec<String> = select_images(&scope(&[("tier", "a")]), &images)
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert!(narrow.is_empty(), "{narrow:?}");
    }

    #[test]
    fn repository_of_a_reference() {
        assert_eq!(repository("etl_app:latest"), "etl_app");
        assert_eq!(
            repository("localhost:5000/etl_app"),
            "localhost:5000/etl_app"
        );
        assert_eq!(
            repository("localhost:5000/etl_app:1"),
            "localhost:5000/etl_app"
        );
    }
}
