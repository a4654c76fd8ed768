//! Which Docker resources belong to a cleanup's scope: pure decisions over the
//! engine's listings, so they can be tested without an engine.

use super::{Resource, Scope};
use crate::cleanup::CleanupLevel;
use bollard::models::{ContainerSummary, ImageSummary, Network, Volume};
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

    /// Whether a container's own `name` carries the prefix compose v1 gave
    /// its containers, `<project>_x`. Only `_`: compose v2 names containers
    /// `<project>-x` but always labels them, so an unlabelled `<project>-x`
    /// is somebody else's.
    pub fn has_prefix(&self, name: &str) -> bool {
        let name = name.trim_start_matches('/');
        name.strip_prefix(self.project.as_str())
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|rest| !rest.is_empty())
    }

    /// Name-based matches (unlabelled leftover containers) only widen a
    /// scope that is the whole project: with extra label filters a name
    /// cannot tell which part of the project it is in.
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

/// A container's own name. The engine's list also holds one entry per
/// legacy `--link` that reaches it (`/<linking container>/<alias>`); those
/// are other containers' names for it, never its own.
pub fn own_name(c: &ContainerSummary) -> Option<&str> {
    c.names
        .iter()
        .flatten()
        .map(|n| n.trim_start_matches('/'))
        .find(|n| !n.is_empty() && !n.contains('/'))
}

/// Whether a container carries any compose label (`com.docker.compose.*`).
fn has_compose_label(c: &ContainerSummary) -> bool {
    c.labels
        .iter()
        .flatten()
        .any(|(k, _)| k.starts_with("com.docker.compose."))
}

fn container_name(c: &ContainerSummary) -> String {
    own_name(c)
        .map(str::to_string)
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
/// whose own name is `<project>_*` and that carry no compose label at all.
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
            && !has_compose_label(c)
            && own_name(c).is_some_and(|n| scope.has_prefix(n))
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
            if m.typ.as_deref() == Some("volume") && is_anonymous_volume(name) {
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

/// The scope's volumes; with `keep_named` (safe mode, data-sensitive steps,
/// at every level) only the anonymous ones.
pub fn select_volumes(scope: &Scope, volumes: &[Volume], keep_named: bool) -> Vec<Resource> {
    volumes
        .iter()
        .filter(|v| scope.matches(&v.labels))
        .filter(|v| !keep_named || is_anonymous_volume(&v.name))
        .map(|v| volume_resource(v.name.clone()))
        .collect()
}

/// The project's images, one resource per reference to remove: every tag of
/// an image labelled for the scope (its id when it has none). By label only,
/// never by name: an image tagged `<project>_x` may be labelled for another
/// project, or be nobody's (compose v2 labels the images it builds).
pub fn select_images(scope: &Scope, images: &[ImageSummary]) -> Vec<Resource> {
    let mut out = Vec::new();
    for image in images {
        let tags: Vec<&String> = image
            .repo_tags
            .iter()
            .filter(|t| t.as_str() != "<none>:<none>")
            .collect();
        if !scope.matches(&image.labels) {
            continue;
        }
        if tags.is_empty() {
            out.push(Resource {
                kind: "image".into(),
                name: UNTAGGED.into(),
                id: image.id.clone(),
            });
        }
        out.extend(tags.into_iter().map(|t| Resource {
            kind: "image".into(),
            name: t.clone(),
            id: image.id.clone(),
        }));
    }
    out
}

/// The name of an image with no tag left; it is removed by id.
pub const UNTAGGED: &str = "<none>";

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
        for yes in ["etl_db_1", "/etl_web"] {
            assert!(s.has_prefix(yes), "{yes}");
        }
        // `<project>-*` is compose v2's spelling, and v2 always labels.
        for no in [
            "etl",
            "etl_",
            "etlx_db",
            "other_etl_db",
            "xetl-db",
            "etl-db-1",
        ] {
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
    fn orphans_are_matched_on_their_own_name_only() {
        // Issue 14, reproduction 4: a container reached through a legacy
        // `--link` lists `/<project>_web2/x` among its names, and went
        // (shown under the alias); `<project>-*` went too.
        let s = scope(&[]);
        let mut linked = container("5", "db", &[]);
        linked.names = Some(vec!["/etl_web2/x".into(), "/db".into()]);
        let dashed = container("6", "etl-tools", &[]);
        let service_only = container("7", "etl_w_1", &[(SERVICE_LABEL, "w")]);
        let mut orphan = container("8", "etl_old_1", &[]);
        orphan.names = Some(vec!["/other_app/etl".into(), "/etl_old_1".into()]);
        let all = [linked, dashed, service_only, orphan];
        let chosen = select_containers(&s, CleanupLevel::Deep, &[], &all);
        let got: Vec<(&str, &str)> = chosen
            .iter()
            .map(|r| (r.id.as_str(), r.name.as_str()))
            .collect();
        assert_eq!(got, [("8", "etl_old_1")]);
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
                typ: Some("volume".into()),
                name: Some(anon.clone()),
                ..Default::default()
            },
            MountPoint {
                typ: Some("volume".into()),
                name: Some("etl_data".into()),
                ..Default::default()
            },
            MountPoint {
                typ: Some("bind".into()),
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
    fn images_by_label_only() {
        // Issue 14, reproduction 3: an image tagged `<project>_x` but
        // labelled for another project was removed by its name.
        let image = |id: &str, tags: &[&str], l: &[(&str, &str)]| ImageSummary {
            id: id.into(),
            repo_tags: tags.iter().map(|t| t.to_string()).collect(),
            labels: labels(l),
            ..Default::default()
        };
        let images = [
            image("sha256:1", &["etl_app:latest"], &[]),
            image("sha256:2", &["etl_x:1"], &[(PROJECT_LABEL, "other")]),
            image(
                "sha256:3",
                &["built:1", "built:2"],
                &[(PROJECT_LABEL, "etl")],
            ),
            image("sha256:4", &[], &[(PROJECT_LABEL, "etl")]),
            image("sha256:5", &["etl-web:latest"], &[]),
        ];
        let names: Vec<String> = select_images(&scope(&[]), &images)
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["built:1", "built:2", UNTAGGED]);
        let narrow: Vec<String> = select_images(&scope(&[("tier", "a")]), &images)
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert!(narrow.is_empty(), "{narrow:?}");
    }
}
