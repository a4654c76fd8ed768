use super::*;

fn names(files: &[&str]) -> Vec<String> {
    files.iter().map(|s| s.to_string()).collect()
}

fn runs(p: &PlanGuess) -> Vec<&str> {
    p.steps.iter().map(|s| s.run.as_str()).collect()
}

#[test]
fn a_dbt_project_builds_after_its_packages() {
    assert_eq!(dbt(false, true), None);
    assert_eq!(runs(&dbt(true, false).unwrap()), ["dbt build"]);
    assert_eq!(runs(&dbt(true, true).unwrap()), ["dbt deps", "dbt build"]);
}

#[test]
fn makefile_targets_and_the_one_that_runs_the_pipeline() {
    // A typical data-pipeline Makefile: variables, .PHONY, recipes, a
    // pattern rule and a target with prerequisites.
    let makefile = "PYTHON ?= python3\nDB := etl\n.PHONY: etl test clean\n\n\
        etl: extract load\n\t$(PYTHON) etl/run.py\n\nextract:\n\t$(PYTHON) etl/extract.py\n\n\
        load: extract\n\t$(PYTHON) etl/load.py\n\n%.csv: %.json\n\tjq . $< > $@\n\n\
        test:\n\tpytest -q\n\nclean:\n\trm -rf output\n";
    assert_eq!(
        make_targets(makefile),
        ["etl", "extract", "load", "%.csv", "test", "clean"]
    );
    let plan = make(makefile).unwrap();
    assert_eq!(runs(&plan), ["make etl"]);
    assert_eq!(plan.validator.as_deref(), Some("make test"));
    assert_eq!(make("build:\n\tcargo build\n"), None);
}

#[test]
fn package_json_scripts() {
    // `npm init -y` (produced here by npm 10.8.2) plus an etl script.
    let init = r#"{
  "name": "npmx",
  "version": "1.0.0",
  "main": "index.js",
  "scripts": {
    "test": "echo \"Error: no test specified\" && exit 1"
  },
  "keywords": [],
  "author": "",
  "license": "ISC",
  "description": ""
}"#;
    assert_eq!(npm(init), None);
    let with_etl = init.replace(
        r#""test": "echo \"Error: no test specified\" && exit 1""#,
        r#""etl": "node src/etl.js", "start": "node server.js", "test": "jest""#,
    );
    let plan = npm(&with_etl).unwrap();
    assert_eq!(runs(&plan), ["npm run etl"]);
    assert_eq!(plan.validator.as_deref(), Some("npm test"));
    let placeholder_test = init.replace(r#""test""#, r#""start": "node index.js", "test""#);
    assert_eq!(npm(&placeholder_test).unwrap().validator, None);
    assert_eq!(npm("not json"), None);
}

/// (files in etl/, files in tools/, the layout and commands expected)
type Layout = (
    Vec<String>,
    Vec<String>,
    Option<(&'static str, Vec<&'static str>)>,
);

#[test]
fn python_layouts() {
    let table: Vec<Layout> = vec![
        (
            names(&["load.py", "extract.py", "transform.py", "util.py"]),
            names(&[]),
            Some((
                "etl/*.py",
                vec![
                    "python3 etl/extract.py",
                    "python3 etl/transform.py",
                    "python3 etl/load.py",
                ],
            )),
        ),
        (
            names(&["__main__.py", "db.py"]),
            names(&[]),
            Some(("etl/__main__.py", vec!["python3 -m etl"])),
        ),
        (
            names(&["main.py"]),
            names(&[]),
            Some(("etl/*.py", vec!["python3 etl/main.py"])),
        ),
        (
            names(&[]),
            names(&["validate_etl_simple.py", "orchestrate_etl_init.py"]),
            Some(("tools/*.py", vec!["python3 tools/orchestrate_etl_init.py"])),
        ),
        (names(&["helpers.py"]), names(&["lint.py"]), None),
    ];
    for (etl, tools, want) in table {
        let got = python(&etl, &tools);
        let got = got.as_ref().map(|p| (p.from.as_str(), runs(p)));
        assert_eq!(got, want, "{etl:?} {tools:?}");
    }
    let p = python(&names(&["main.py"]), &names(&["validate_x.py"])).unwrap();
    assert_eq!(p.validator.as_deref(), Some("python3 tools/validate_x.py"));
}

#[test]
fn compose_services_with_a_healthcheck_are_waited_for() {
    // In the shape of the Compose file reference's healthcheck example
    // (https://docs.docker.com/reference/compose-file/services/#healthcheck).
    let compose = r#"name: etl
services:
  db:
    image: postgres:16
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U postgres"]
      interval: 5s
      retries: 10
    ports:
      - "5432:5432"
  warehouse:
    image: clickhouse/clickhouse-server
    container_name: ch
    healthcheck:
      test: ["CMD", "wget", "--spider", "-q", "localhost:8123/ping"]
  worker:
    image: python:3.12
    depends_on:
      db:
        condition: service_healthy
volumes:
  data:
"#;
    assert_eq!(
        healthy_targets(compose, "etl"),
        ["container:etl-db-1:healthy", "container:ch:healthy"]
    );
    assert!(healthy_targets("services:\n  db:\n    image: x\n", "p").is_empty());
}
