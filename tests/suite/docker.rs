//! Docker cleanup against the real engine: what is left in Docker afterwards
//! is what these tests check. Each test has its own project name, so they run
//! in parallel, and a Drop guard removes whatever a test left behind.

use crate::support::docker::{self as d, exists, Kind, Project, State};
use crate::support::AutoEtl;
use auto_etl::cleanup::CleanupLevel;
use auto_etl::docker::{Cleaner, CleanupOptions, DockerCleanup, DockerError, Scope};
use std::time::{Duration, Instant};

const STOP: Duration = Duration::from_secs(10);

async fn cleaner(scope: Scope) -> Cleaner {
    Cleaner::connect(scope, STOP)
        .await
        .expect("connect to the engine")
}

async fn clean(p: &Project, level: CleanupLevel) -> DockerCleanup {
    cleaner(p.scope(&[]))
        .await
        .cleanup(level, CleanupOptions::default())
        .await
        .expect("cleanup")
}

fn names(c: &DockerCleanup, kind: &str) -> Vec<String> {
    c.removed
        .iter()
        .filter(|r| r.kind == kind)
        .map(|r| r.name.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_removes_every_state_and_kind_and_a_second_run_finds_nothing() {
    if !d::available() {
        return;
    }
    let p = Project::new("states");
    let net = p.network("default", &[]);
    let vol = p.volume("data", &[]);
    let mount = format!("{vol}:/data");
    let running = p.container(
        "running",
        State::Running,
        true,
        &["--network", &net, "-v", &mount],
    );
    let exited = p.container("exited", State::Exited, true, &[]);
    let created = p.container("created", State::Created, true, &[]);
    let paused = p.container("paused", State::Paused, true, &["--network", &net]);
    let restarting = p.container("restarting", State::Restarting, true, &[]);

    let out = clean(&p, CleanupLevel::Standard).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(
        (out.containers, out.networks, out.volumes, out.images),
        (5, 1, 1, 0)
    );
    for c in [&running, &exited, &created, &paused, &restarting] {
        assert!(!exists(Kind::Container, c), "{c} is still there");
    }
    assert!(!exists(Kind::Network, &net));
    assert!(!exists(Kind::Volume, &vol));
    assert!(p.left(Kind::Container).is_empty());

    let again = clean(&p, CleanupLevel::Standard).await;
    assert!(
        again.removed.is_empty() && again.errors.is_empty(),
        "{again:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn light_removes_containers_and_leaves_networks_and_volumes() {
    if !d::available() {
        return;
    }
    let p = Project::new("light");
    let net = p.network("default", &[]);
    let vol = p.volume("data", &[]);
    let mount = format!("{vol}:/data");
    let c = p.container(
        "app",
        State::Running,
        true,
        &["--network", &net, "-v", &mount],
    );

    let out = clean(&p, CleanupLevel::Light).await;
    assert_eq!(names(&out, "container"), [c.as_str()]);
    assert_eq!((out.networks, out.volumes), (0, 0));
    assert!(!exists(Kind::Container, &c));
    assert!(exists(Kind::Network, &net));
    assert!(exists(Kind::Volume, &vol));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_removes_project_images_anonymous_volumes_and_unlabelled_prefixed_containers() {
    if !d::available() {
        return;
    }
    let mut p = Project::new("deep");
    // Named like the project but unlabelled: images go by label only.
    let built = format!("{}_app:latest", p.name);
    d::docker(&["tag", d::IMAGE, &built]);
    p.track(Kind::Image, &built);
    let labelled = p.labelled_image(&format!("aetl-test-img-{:08x}:1", fastrand::u32(..)));
    let c = p.container("app", State::Running, true, &["-v", "/scratch"]);
    let anon = p.anonymous_volumes(&c);
    assert_eq!(
        anon.len(),
        1,
        "the container should mount one anonymous volume"
    );
    let orphan = p.container("orphan_1", State::Exited, false, &[]);

    // Standard leaves all of these to deep.
    let standard = cleaner(p.scope(&[]))
        .await
        .list(CleanupLevel::Standard, CleanupOptions::default())
        .await
        .unwrap();
    let listed: Vec<&str> = standard.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(listed, [c.as_str()]);

    let out = clean(&p, CleanupLevel::Deep).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let mut containers = names(&out, "container");
    containers.sort();
    assert_eq!(containers, [c.clone(), orphan.clone()]);
    assert_eq!(names(&out, "volume"), anon);
    assert_eq!(names(&out, "image"), std::slice::from_ref(&labelled));
    assert!(!exists(Kind::Container, &orphan));
    assert!(!exists(Kind::Volume, &anon[0]));
    assert!(exists(Kind::Image, &built));
    assert!(!exists(Kind::Image, &labelled));
    assert!(exists(Kind::Image, d::IMAGE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bystanders_survive_a_deep_cleanup() {
    if !d::available() {
        return;
    }
    let mut p = Project::new("scope");
    let other = Project::new("bystander");
    p.container("app", State::Running, true, &[]);
    p.network("default", &[]);
    p.volume("data", &[]);
    let their_net = other.network("default", &[]);
    let their_vol = other.volume("data", &[]);
    let their_mount = format!("{their_vol}:/data");
    let theirs = other.container(
        "app",
        State::Running,
        true,
        &["--network", &their_net, "-v", &their_mount],
    );
    let unlabelled = format!("aetl-bystander-{:08x}", fastrand::u32(..));
    p.track(Kind::Container, &unlabelled);
    d::docker(&[
        "run",
        "-d",
        "--name",
        &unlabelled,
        d::IMAGE,
        "sleep",
        "3600",
    ]);

    let out = clean(&p, CleanupLevel::Deep).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!((out.containers, out.networks, out.volumes), (1, 1, 1));
    assert!(
        out.removed.iter().all(|r| r.name.starts_with(&p.name)),
        "{:?}",
        out.removed
    );
    for (kind, name) in [
        (Kind::Container, &theirs),
        (Kind::Network, &their_net),
        (Kind::Volume, &their_vol),
        (Kind::Container, &unlabelled),
    ] {
        assert!(exists(kind, name), "bystander {name} was removed");
    }
    let state = d::docker(&["inspect", "-f", "{{.State.Running}}", &theirs]);
    assert_eq!(state, "true", "a bystander was stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extra_label_filter_narrows_the_scope() {
    if !d::available() {
        return;
    }
    let p = Project::new("narrow");
    let a = p.container("a", State::Running, true, &["--label", "tier=a"]);
    let b = p.container("b", State::Running, true, &["--label", "tier=b"]);
    let plain = p.container("plain", State::Running, true, &[]);
    let vol_a = p.volume("va", &["tier=a"]);
    let vol_b = p.volume("vb", &["tier=b"]);

    let out = cleaner(p.scope(&[("tier", "a")]))
        .await
        .cleanup(CleanupLevel::Deep, CleanupOptions::default())
        .await
        .unwrap();
    assert_eq!(names(&out, "container"), [a.as_str()]);
    assert_eq!(names(&out, "volume"), [vol_a.as_str()]);
    assert!(!exists(Kind::Container, &a));
    assert!(exists(Kind::Container, &b));
    assert!(exists(Kind::Container, &plain));
    assert!(exists(Kind::Volume, &vol_b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safe_mode_keeps_named_volumes_at_every_level() {
    if !d::available() {
        return;
    }
    let p = Project::new("safe");
    let vol = p.volume("data", &[]);
    let safe = CleanupOptions {
        dry_run: false,
        keep_named_volumes: true,
    };
    let out = cleaner(p.scope(&[]))
        .await
        .cleanup(CleanupLevel::Standard, safe)
        .await
        .unwrap();
    assert_eq!(out.volumes, 0);
    assert!(exists(Kind::Volume, &vol));
    let out = cleaner(p.scope(&[]))
        .await
        .cleanup(CleanupLevel::Deep, safe)
        .await
        .unwrap();
    // Deep too (issue 14: an escalation to deep must not drop the promise).
    assert_eq!(out.volumes, 0);
    assert!(exists(Kind::Volume, &vol));
    let out = cleaner(p.scope(&[]))
        .await
        .cleanup(CleanupLevel::Deep, CleanupOptions::default())
        .await
        .unwrap();
    assert_eq!(names(&out, "volume"), [vol.as_str()]);
    assert!(!exists(Kind::Volume, &vol));
}

#[test]
fn dry_run_through_the_binary_lists_everything_and_removes_nothing() {
    if !d::available() {
        return;
    }
    let p = Project::new("dry");
    let net = p.network("default", &[]);
    let vol = p.volume("data", &[]);
    let c = p.container("app", State::Paused, true, &["--network", &net]);
    let dir = tempfile::tempdir().unwrap();

    let run = AutoEtl::new(dir.path())
        .args(["cleanup", "--project", &p.name, "--dry-run"])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    for line in [
        format!("would remove container {c} ("),
        format!("would remove network {net} ("),
        format!("would remove volume {vol}\n"),
    ] {
        assert!(
            run.stdout.contains(&line),
            "missing `{line}` in:\n{}",
            run.stdout
        );
    }
    assert!(
        run.stdout
            .contains("would remove 1 container, 1 network, 1 volume, 0 images"),
        "{}",
        run.stdout
    );
    assert!(
        exists(Kind::Container, &c) && exists(Kind::Network, &net) && exists(Kind::Volume, &vol)
    );

    let json = AutoEtl::new(dir.path())
        .args([
            "cleanup",
            "--project",
            &p.name,
            "--dry-run",
            "--format",
            "json",
        ])
        .run();
    assert_eq!(json.code, 0, "{}", json.stderr);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json output");
    assert_eq!(v["containers"], 1);
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["removed"][0]["kind"], "container");

    let real = AutoEtl::new(dir.path())
        .args(["cleanup", "--project", &p.name])
        .run();
    assert_eq!(real.code, 0, "{}", real.stderr);
    assert!(
        real.stdout.contains(&format!("removed container {c} (")),
        "{}",
        real.stdout
    );
    assert!(
        !exists(Kind::Container, &c) && !exists(Kind::Network, &net) && !exists(Kind::Volume, &vol)
    );
}

#[test]
fn a_label_that_is_not_k_v_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = AutoEtl::new(dir.path())
        .args(["cleanup", "--project", "p", "--label", "novalue"])
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("novalue"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_projects_cleaned_at_once_do_not_interfere() {
    if !d::available() {
        return;
    }
    let make = |what: &str| {
        let p = Project::new(what);
        let net = p.network("default", &[]);
        for i in 0..4 {
            p.container(&format!("c{i}"), State::Running, true, &["--network", &net]);
        }
        p.volume("data", &[]);
        p
    };
    let (a, b) = (make("twin-a"), make("twin-b"));
    let (ca, cb) = (cleaner(a.scope(&[])).await, cleaner(b.scope(&[])).await);
    let (ra, rb) = tokio::join!(
        ca.cleanup(CleanupLevel::Standard, CleanupOptions::default()),
        cb.cleanup(CleanupLevel::Standard, CleanupOptions::default())
    );
    for (p, r) in [(&a, ra.unwrap()), (&b, rb.unwrap())] {
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(
            (r.containers, r.networks, r.volumes),
            (4, 1, 1),
            "{:?}",
            r.removed
        );
        assert!(
            r.removed.iter().all(|x| x.name.starts_with(&p.name)),
            "{:?}",
            r.removed
        );
        for kind in [Kind::Container, Kind::Network, Kind::Volume] {
            assert!(p.left(kind).is_empty(), "{} left {kind:?}", p.name);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compose_project_is_cleaned_like_compose_down() {
    if !d::available() || !d::compose_available() {
        return;
    }
    let p = Project::new("compose");
    let file = d::repo_root().join("fixtures/compose/pipeline.yml");
    let up = std::process::Command::new("docker-compose")
        .args(["-p", &p.name, "-f"])
        .arg(&file)
        .args(["up", "-d"])
        .output()
        .expect("run docker-compose");
    assert!(
        up.status.success(),
        "compose up: {}",
        String::from_utf8_lossy(&up.stderr)
    );
    assert_eq!(p.left(Kind::Container).len(), 3);

    let scheduler = cleaner(p.scope(&[])).await;
    assert!(scheduler.container_ready("warehouse", false).await.unwrap());
    assert!(
        !scheduler.container_ready("warehouse", true).await.unwrap(),
        "no health check, never healthy"
    );
    assert!(!scheduler.container_ready("nothing", false).await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !scheduler.container_ready("scheduler", true).await.unwrap() {
        assert!(
            Instant::now() < deadline,
            "the scheduler never became healthy"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let out = clean(&p, CleanupLevel::Standard).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(
        (out.containers, out.networks, out.volumes),
        (3, 2, 2),
        "{:?}",
        out.removed
    );
    for kind in [Kind::Container, Kind::Network, Kind::Volume] {
        assert!(p.left(kind).is_empty(), "{kind:?} left: {:?}", p.left(kind));
    }
    let prefixed = d::docker(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(
        !prefixed.lines().any(|n| n.starts_with(&p.name)),
        "{prefixed}"
    );
}

#[tokio::test]
async fn a_missing_socket_is_unreachable_at_once() {
    let start = Instant::now();
    let scope = Scope::new("p", vec![]);
    let err = Cleaner::connect_to(scope, STOP, "unix:///nonexistent.sock")
        .await
        .err()
        .expect("no engine there");
    assert!(matches!(err, DockerError::Unreachable(_)), "{err}");
    assert!(err.to_string().contains("/nonexistent.sock"), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_tcp_engine_that_never_answers_is_unreachable_within_the_connect_timeout() {
    // Accepts connections and says nothing: the worst case for a client.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = std::thread::spawn(move || {
        let _conn = listener.accept();
        std::thread::sleep(Duration::from_secs(6));
    });
    let start = Instant::now();
    let err = Cleaner::connect_to(Scope::new("p", vec![]), STOP, &format!("tcp://{addr}"))
        .await
        .err()
        .expect("nothing answers");
    assert!(matches!(err, DockerError::Unreachable(_)), "{err}");
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "{took:?}");
    drop(hold);

    let refused = Cleaner::connect_to(Scope::new("p", vec![]), STOP, "tcp://127.0.0.1:1").await;
    assert!(matches!(refused, Err(DockerError::Unreachable(_))));
}

#[test]
fn the_command_names_docker_host_when_the_daemon_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let run = AutoEtl::new(dir.path())
        .env("DOCKER_HOST", "unix:///nonexistent.sock")
        .args(["cleanup", "--project", "p"])
        .run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("DOCKER_HOST"), "{}", run.stderr);
    assert!(run.stderr.contains("/nonexistent.sock"), "{}", run.stderr);
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_container_pipeline_heals_a_lost_container_by_cleaning_deeper() {
    if !d::available() {
        return;
    }
    let project = Project::new("e2e");
    // A container named like the pipeline's, without labels: what a crashed
    // earlier run leaves when it died between `create` and labelling.
    let lost = project.container("warehouse", State::Running, false, &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        d::repo_root().join("fixtures/docker-pipeline/auto-etl.toml"),
        dir.path().join("auto-etl.toml"),
    )
    .unwrap();
    let run = AutoEtl::new(dir.path())
        .env("AUTO_ETL_PROJECT", &project.name)
        .run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = crate::support::pipeline::reports_in(&dir.path().join("logs")).remove(0);
    let cycles = report["cycles"].as_array().unwrap();
    let classes = |c: &serde_json::Value| c["classified_errors"].to_string();
    assert!(
        classes(&cycles[0]).contains("already_exists"),
        "{}",
        cycles[0]
    );
    assert_eq!(
        cycles[0]["adjustments"][0],
        "cleanup light -> standard (already_exists)"
    );
    assert_eq!(
        cycles[1]["adjustments"][0],
        "cleanup standard -> deep (already_exists)"
    );
    let last = cycles.last().unwrap();
    assert_eq!(last["success"], true);
    assert_eq!(last["cleanup"]["level"], "deep");
    assert!(
        last["cleanup"]["containers"].as_u64().unwrap() >= 1,
        "{}",
        last["cleanup"]
    );
    // The name now belongs to the pipeline's own, labelled warehouse.
    assert_eq!(project.left(Kind::Container), [lost]);
}
