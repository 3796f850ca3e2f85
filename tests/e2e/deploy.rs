//! The deployment files under `deploy/` against the gateway itself: every flag and environment
//! variable they set is one of the gateway's (clap's `Config`, the source of its `--help`) with
//! a value it accepts; the ports they expose and name are the ones the gateway listens on; every
//! probe and health check hits an endpoint a running gateway serves (asked on 127.0.0.1:0, HTTP
//! and gRPC health); the termination grace period outlasts the drain.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    time::Duration,
};

use blaxel_gateway::{Config, GrpcListen};
use clap::CommandFactory as _;
use serde_json::{Value, json};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use yaml_rust2::{Yaml, YamlLoader};

use crate::{grpc::GrpcEnv, harness::emulator_config};

/// Environment variables a deployment may set that are not gateway flags.
const NOT_FLAGS: [&str; 1] = ["RUST_LOG"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A YAML node as JSON (mapping keys as text), for indexing with `["a"]["b"]`.
fn to_json(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::Real(r) => json!(r.parse::<f64>().unwrap()),
        Yaml::Integer(i) => json!(i),
        Yaml::String(s) => json!(s),
        Yaml::Boolean(b) => json!(b),
        Yaml::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Hash(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        other => panic!("unexpected mapping key {other:?}"),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Yaml::Null => Value::Null,
        Yaml::Alias(_) | Yaml::BadValue => panic!("unsupported YAML node {yaml:?}"),
    }
}

/// Every document of every `deploy/kubernetes/*.yaml`, by file name.
fn manifests() -> BTreeMap<String, Vec<Value>> {
    let dir = repo().join("deploy/kubernetes");
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let docs = YamlLoader::load_from_str(&text)
                .unwrap_or_else(|e| panic!("{name} is not valid YAML: {e}"));
            files.insert(name, docs.iter().map(to_json).collect());
        }
    }
    files
}

/// The one object of `kind` among the manifests.
fn object<'a>(files: &'a BTreeMap<String, Vec<Value>>, kind: &str) -> &'a Value {
    let found: Vec<&Value> = files
        .values()
        .flatten()
        .filter(|doc| doc["kind"] == kind)
        .collect();
    assert_eq!(found.len(), 1, "exactly one {kind} in deploy/kubernetes");
    found[0]
}

/// The gateway's flags by environment variable: `GATEWAY_LISTEN` -> `--listen`.
fn flags_by_env() -> BTreeMap<String, String> {
    Config::command()
        .get_arguments()
        .filter_map(|arg| {
            let env = arg.get_env()?.to_string_lossy().into_owned();
            Some((env, format!("--{}", arg.get_long()?)))
        })
        .collect()
}

/// The configuration the gateway would run with under `env` (name, literal value) and `args`;
/// panics naming the variable or flag it refuses. Variables whose value comes from elsewhere
/// (a Secret) must be gateway variables too, and are passed as `placeholder`.
fn config_of(env: &[(String, Option<String>)], args: &[String]) -> Config {
    let flags = flags_by_env();
    let mut argv = vec!["blaxel-gateway".to_owned()];
    for (name, value) in env {
        if NOT_FLAGS.contains(&name.as_str()) {
            continue;
        }
        let flag = flags.get(name).unwrap_or_else(|| {
            panic!("{name} is not an environment variable of the gateway (see --help)")
        });
        argv.push(flag.clone());
        argv.push(value.clone().unwrap_or_else(|| placeholder(name)));
    }
    argv.extend(args.iter().cloned());
    Config::try_from_args(&argv).unwrap_or_else(|e| panic!("the gateway refuses {argv:?}: {e}"))
}

/// A valid stand-in for a value kept in a Secret.
fn placeholder(name: &str) -> String {
    match name {
        "BLAXEL_API_URL" => "https://api.blaxel.ai/v0".to_owned(),
        _ => "from-a-secret".to_owned(),
    }
}

fn listen_port(config: &Config) -> (u16, u16) {
    assert!(
        config.listen.ip().is_unspecified(),
        "a container listens on every interface, not {}",
        config.listen
    );
    let GrpcListen::On(grpc) = config.grpc_listen else {
        panic!("the gRPC listener is on in a deployment");
    };
    assert!(
        grpc.ip().is_unspecified(),
        "gRPC listens on every interface"
    );
    (config.listen.port(), grpc.port())
}

/// A gateway (GraphQL and gRPC over one state) over an emulator, both on 127.0.0.1:0: answers
/// the status of `GET path` for each path, and whether the gRPC health service reports SERVING
/// for `grpc_service` within 10 s.
async fn served(paths: &BTreeSet<String>, grpc_service: &str) -> (BTreeMap<String, u16>, bool) {
    let env = GrpcEnv::start(emulator_config(3)).await;
    let (url, task) = env.graphql().await;
    let base = url.trim_end_matches("/graphql").to_owned();
    let http = reqwest::Client::new();
    let mut statuses = BTreeMap::new();
    for path in paths {
        let status = http
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("the gateway answers")
            .status();
        statuses.insert(path.clone(), status.as_u16());
    }
    let mut health = HealthClient::new(env.channel().await);
    let mut serving = false;
    for _ in 0..100 {
        let answer = health
            .check(HealthCheckRequest {
                service: grpc_service.to_owned(),
            })
            .await
            .map(|r| r.into_inner().status);
        if answer.is_ok_and(|s| s == ServingStatus::Serving as i32) {
            serving = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    task.abort();
    (statuses, serving)
}

/// The `NAME=value` pairs of an env list (`valueFrom` ones without a value).
fn container_env(container: &Value) -> Vec<(String, Option<String>)> {
    container["env"]
        .as_array()
        .map(|vars| {
            vars.iter()
                .map(|var| {
                    let name = var["name"].as_str().unwrap().to_owned();
                    let value = var["value"].as_str().map(str::to_owned);
                    assert!(
                        value.is_some() || var["valueFrom"]["secretKeyRef"].is_object(),
                        "{name}: a literal value or a Secret's key"
                    );
                    (name, value)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The Deployment, Service, HorizontalPodAutoscaler and PodDisruptionBudget agree with the
/// gateway and with each other.
#[tokio::test]
async fn kubernetes_manifests_use_real_flags_ports_and_endpoints() {
    let files = manifests();
    // kustomization.yaml applies every manifest but the Secret example.
    let kustomization = object(&files, "Kustomization");
    let listed: BTreeSet<String> = strings(&kustomization["resources"]).into_iter().collect();
    let present: BTreeSet<String> = files
        .keys()
        .filter(|f| *f != "kustomization.yaml" && *f != "secret.example.yaml")
        .cloned()
        .collect();
    assert_eq!(listed, present, "kustomization.yaml lists every manifest");

    let deployment = object(&files, "Deployment");
    let pod = &deployment["spec"]["template"];
    let labels = pod["metadata"]["labels"].as_object().unwrap();
    let selector = deployment["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap();
    assert!(selector.iter().all(|(k, v)| labels.get(k) == Some(v)));
    let containers = pod["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let container = &containers[0];

    // Flags and variables: real ones, with values the gateway accepts.
    let env = container_env(container);
    let mut args = strings(&container["args"]);
    args.extend(strings(&container["command"]).into_iter().skip(1));
    let config = config_of(&env, &args);
    // The image has no embedded emulator: the upstream is set, from a Secret.
    let upstream = env.iter().find(|(n, _)| n == "BLAXEL_API_URL");
    assert!(
        upstream.is_some_and(|(_, value)| value.is_none()),
        "BLAXEL_API_URL is set from a Secret"
    );

    // Ports: named `http` and `grpc`, the ones the gateway listens on.
    let (http_port, grpc_port) = listen_port(&config);
    let ports: BTreeMap<String, i64> = container["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["containerPort"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        BTreeMap::from([
            ("http".to_owned(), i64::from(http_port)),
            ("grpc".to_owned(), i64::from(grpc_port))
        ])
    );
    let service = object(&files, "Service");
    let service_ports: BTreeMap<String, Value> = service["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["targetPort"].clone(),
            )
        })
        .collect();
    assert_eq!(
        service_ports.keys().collect::<Vec<_>>(),
        ["grpc", "http"],
        "the Service names its ports http and grpc"
    );
    for (name, target) in &service_ports {
        let to_port = match target {
            Value::String(named) => ports[named.as_str()],
            Value::Number(n) => n.as_i64().unwrap(),
            other => panic!("targetPort {other}"),
        };
        assert_eq!(to_port, ports[name.as_str()], "Service port {name}");
    }
    let service_selector = service["spec"]["selector"].as_object().unwrap();
    assert!(
        service_selector
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
    );

    // Probes: readiness on /readyz, liveness on /healthz, a gRPC probe on the gRPC port, each
    // answered by a running gateway.
    let mut paths = BTreeSet::new();
    for (probe, want) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], want, "{probe}");
        assert_eq!(get["port"], "http", "{probe} on the http port");
        paths.insert(want.to_owned());
    }
    let grpc_probes: Vec<&Value> = ["startupProbe", "readinessProbe", "livenessProbe"]
        .iter()
        .map(|p| &container[*p]["grpc"])
        .filter(|g| g.is_object())
        .collect();
    assert_eq!(grpc_probes.len(), 1, "one gRPC probe");
    let grpc_probe = grpc_probes[0];
    assert_eq!(grpc_probe["port"], i64::from(grpc_port));
    let grpc_service = grpc_probe["service"].as_str().unwrap_or_default();
    let (statuses, serving) = served(&paths, grpc_service).await;
    assert!(statuses.values().all(|s| *s == 200), "{statuses:?}");
    assert!(serving, "gRPC health reports {grpc_service:?} SERVING");

    // The grace period outlasts the drain: the preStop pause, then the longest request (the
    // request timeout) and the gRPC backstop of one second past it.
    let grace = pod["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("terminationGracePeriodSeconds");
    let pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap_or(0);
    let drain_ms = pause * 1000 + config.request_timeout_ms + 1000;
    assert!(
        grace * 1000 > drain_ms,
        "terminationGracePeriodSeconds {grace} s <= drain {drain_ms} ms"
    );

    // Non-root, read-only root filesystem, no privilege escalation, no capabilities.
    let pod_security = &pod["spec"]["securityContext"];
    let security = &container["securityContext"];
    assert_eq!(pod_security["runAsNonRoot"], true);
    assert!(pod_security["runAsUser"].as_i64().unwrap() > 0);
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"], json!(["ALL"]));
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                container["resources"][kind][resource].is_string(),
                "resources.{kind}.{resource}"
            );
        }
    }

    // The autoscaler scales this Deployment, on CPU (which needs a CPU request), from at least
    // two replicas; the disruption budget covers the same pods and lets one go at a time.
    let hpa = object(&files, "HorizontalPodAutoscaler");
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "Deployment");
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["name"],
        deployment["metadata"]["name"]
    );
    let min = hpa["spec"]["minReplicas"].as_i64().unwrap();
    assert!(min >= 2 && hpa["spec"]["maxReplicas"].as_i64().unwrap() >= min);
    assert!(
        deployment["spec"]["replicas"].is_null(),
        "the autoscaler owns the replica count"
    );
    let pdb = object(&files, "PodDisruptionBudget");
    assert_eq!(pdb["apiVersion"], "policy/v1");
    let pdb_selector = pdb["spec"]["selector"]["matchLabels"].as_object().unwrap();
    assert!(pdb_selector.iter().all(|(k, v)| labels.get(k) == Some(v)));
    let disruptable = match (
        pdb["spec"]["maxUnavailable"].as_i64(),
        pdb["spec"]["minAvailable"].as_i64(),
    ) {
        (Some(max), None) => max,
        (None, Some(min_available)) => min - min_available,
        other => panic!("one of maxUnavailable and minAvailable, as a number: {other:?}"),
    };
    assert!(
        disruptable >= 1 && disruptable < min,
        "a node drain can proceed, and never takes every replica"
    );
}

/// One instruction of a Dockerfile: its keyword (upper case) and its text.
fn instructions(dockerfile: &str) -> Vec<(String, String)> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    joined
        .into_iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (keyword, rest) = line.split_once(char::is_whitespace).unwrap();
            (keyword.to_uppercase(), rest.trim().to_owned())
        })
        .collect()
}

/// The strings of an exec-form (`["a", "b"]`) argument.
fn exec_form(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("exec form expected: {text}: {e}"))
}

/// deploy/Dockerfile: a multi-stage build of the gateway binary, a non-root runtime that
/// listens where it exposes, with a health check the gateway answers, and the same ports as
/// the Kubernetes Deployment.
#[tokio::test]
async fn dockerfile_exposes_the_ports_the_gateway_listens_on_and_checks_a_real_endpoint() {
    let dockerfile = read("deploy/Dockerfile");
    let all = instructions(&dockerfile);
    let stages = all.iter().filter(|(k, _)| k == "FROM").count();
    assert!(stages >= 2, "multi-stage");

    // The builder: the workspace's toolchain or newer, the gateway binary, the lock file.
    let (_, builder) = all.iter().find(|(k, _)| k == "FROM").unwrap();
    let rust = builder
        .strip_prefix("rust:")
        .and_then(|tag| tag.split('-').next())
        .expect("the first stage builds with the rust image");
    let manifest = read("Cargo.toml");
    let wanted = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .unwrap()
        .trim_matches('"');
    let version = |v: &str| -> Vec<u32> { v.split('.').map(|n| n.parse().unwrap()).collect() };
    assert!(version(rust) >= version(wanted), "rust {rust} < {wanted}");
    let build = all
        .iter()
        .find(|(k, text)| k == "RUN" && text.contains("cargo build"))
        .map(|(_, text)| text)
        .expect("a cargo build");
    for part in ["--release", "--locked", "--bin blaxel-gateway"] {
        assert!(build.contains(part), "cargo build {part}");
    }

    // The runtime stage: everything after the last FROM.
    let last = all.iter().rposition(|(k, _)| k == "FROM").unwrap();
    let runtime = &all[last..];
    let get = |keyword: &str| -> Vec<&String> {
        runtime
            .iter()
            .filter(|(k, _)| k == keyword)
            .map(|(_, text)| text)
            .collect()
    };
    let user = get("USER");
    let user = user.last().expect("a USER");
    let uid = user.split(':').next().unwrap();
    assert!(
        uid.parse::<u32>().is_ok_and(|id| id > 0),
        "a numeric non-root user (Kubernetes' runAsNonRoot checks numbers): {user}"
    );
    let entrypoint = exec_form(get("ENTRYPOINT").last().expect("an ENTRYPOINT"));
    assert!(entrypoint[0].ends_with("/blaxel-gateway"));
    assert!(
        get("COPY")
            .iter()
            .any(|c| c.starts_with("--from=") && c.ends_with(entrypoint[0].as_str())),
        "the entrypoint is the binary built in the first stage"
    );

    // ENV: gateway variables with accepted values (and the entrypoint's arguments, if any).
    let mut env = Vec::new();
    for text in get("ENV") {
        for pair in text.split_whitespace() {
            let (name, value) = pair.split_once('=').expect("ENV NAME=value");
            env.push((name.to_owned(), Some(value.trim_matches('"').to_owned())));
        }
    }
    let mut args = entrypoint[1..].to_vec();
    if let Some(cmd) = get("CMD").last() {
        args.extend(exec_form(cmd));
    }
    // The image needs an upstream at run time (no embedded emulator): stand one in.
    let config = config_of(
        &env,
        &[
            &["--upstream".to_owned(), placeholder("BLAXEL_API_URL")][..],
            &args,
        ]
        .concat(),
    );
    let (http_port, grpc_port) = listen_port(&config);
    let exposed: BTreeSet<u16> = get("EXPOSE")
        .iter()
        .flat_map(|t| t.split_whitespace())
        .map(|p| p.trim_end_matches("/tcp").parse().unwrap())
        .collect();
    assert_eq!(exposed, BTreeSet::from([http_port, grpc_port]));

    // The same ports as the Deployment's containers.
    let files = manifests();
    let deployment = object(&files, "Deployment");
    let container_ports: BTreeSet<u16> =
        deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| u16::try_from(p["containerPort"].as_i64().unwrap()).unwrap())
            .collect();
    assert_eq!(container_ports, exposed);

    // HEALTHCHECK: an exec-form command fetching an endpoint of the HTTP port that a running
    // gateway answers with 200.
    let healthcheck = get("HEALTHCHECK");
    let healthcheck = healthcheck.last().expect("a HEALTHCHECK");
    let command = exec_form(
        healthcheck
            .split_once("CMD ")
            .expect("HEALTHCHECK ... CMD [..]")
            .1,
    );
    let url = command
        .iter()
        .find(|a| a.starts_with("http://"))
        .expect("the health check fetches a URL");
    let (authority, path) = url["http://".len()..].split_once('/').unwrap();
    let port: u16 = authority.rsplit_once(':').unwrap().1.parse().unwrap();
    assert_eq!(port, http_port, "the health check asks the HTTP port");
    assert!(
        get("COPY").iter().any(|c| c.ends_with(command[0].as_str())),
        "the health check's client {} is in the image",
        command[0]
    );
    let path = format!("/{path}");
    assert!(["/healthz", "/readyz"].contains(&path.as_str()));
    let (statuses, _) = served(&BTreeSet::from([path.clone()]), "").await;
    assert_eq!(statuses[&path], 200, "{path}");
}
