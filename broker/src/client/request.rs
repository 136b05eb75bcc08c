//! Asking for access and waiting for the decision; listing and releasing grants.

use super::http::Subject;
use super::{Broker, ClientError, Exit, parse_duration};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::time::{Duration, Instant};
use stint_core::RequestState;
use stint_core::api::{
    CredentialView, ExtendBody, GrantView, MeView, NewRequestBody, RequestDetail, ResourceView,
};
use stint_core::machine::ReleaseOutcome;
use stint_core::rules::Justification;

/// How long between two looks at a pending request.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Which broker, and how the identity proves who it is: its API token in STINT_TOKEN (never
/// a flag, so it stays out of process lists and shell history), or a workload token its
/// platform issued (GitHub Actions, GitLab CI, Kubernetes…), exchanged first.
#[derive(clap::Args, Debug, Clone)]
pub struct BrokerArgs {
    /// The broker's URL, e.g. https://stint.example.com.
    #[arg(long, env = "STINT_BROKER")]
    pub broker: String,
    /// A file holding the workload's OIDC token (read when needed), to exchange instead of
    /// using STINT_TOKEN; STINT_OIDC_TOKEN may hold the token itself.
    #[arg(long = "oidc-token", value_name = "FILE")]
    pub oidc_token: Option<std::path::PathBuf>,
}

/// What to ask for, of which broker.
#[derive(clap::Args, Debug, Clone)]
pub struct AccessArgs {
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// The identity asking: the one the token belongs to.
    #[arg(long)]
    pub identity: String,
    /// The resource, by name.
    #[arg(long)]
    pub resource: String,
    /// One of the resource's privileges.
    #[arg(long)]
    pub privilege: String,
    /// How long the access is needed, e.g. 15m or 1h30m.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Duration,
    /// What the access is for; approvers read it.
    #[arg(long)]
    pub task: String,
    /// The ticket the task belongs to.
    #[arg(long)]
    pub ticket: Option<String>,
    /// How long to wait for a decision before giving up (and withdrawing the request).
    #[arg(long, value_parser = parse_duration, default_value = "10m")]
    pub timeout: Duration,
}

/// What `stint request` prints on stdout once granted.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The credential alone.
    Token,
    /// The request, grant and credential as one JSON object.
    Json,
    /// `STINT_CREDENTIAL=…` lines, for `>> $GITHUB_ENV` or `set -a; . file`.
    Env,
}

/// Access granted: the grant and its credential.
pub struct Granted {
    pub request_id: i64,
    pub grant_id: i64,
    pub credential: CredentialView,
}

impl Granted {
    fn print(&self, output: Output) {
        let c = &self.credential;
        match output {
            Output::Token => println!("{}", c.token),
            Output::Json => println!(
                "{}",
                json!({
                    "request_id": self.request_id,
                    "grant_id": self.grant_id,
                    "token": c.token,
                    "jti": c.jti,
                    "expires_at": c.expires_at,
                    "postgres": c.postgres,
                })
            ),
            Output::Env => {
                for (name, value) in self.environment() {
                    println!("{name}={value}");
                }
            }
        }
    }

    /// The variables a command run with this access gets: Stint's, and where a PostgreSQL
    /// connector made a role for the grant, libpq's own (`psql` and most drivers read
    /// them) and `DATABASE_URL`.
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("STINT_CREDENTIAL", self.credential.token.clone()),
            ("STINT_GRANT_ID", self.grant_id.to_string()),
            ("STINT_EXPIRES_AT", self.credential.expires_at.to_rfc3339()),
        ];
        if let Some(pg) = &self.credential.postgres {
            vars.extend([
                ("PGHOST", pg.host.clone()),
                ("PGPORT", pg.port.to_string()),
                ("PGDATABASE", pg.database.clone()),
                ("PGUSER", pg.username.clone()),
                ("PGPASSWORD", pg.password.clone()),
                ("DATABASE_URL", pg.url.clone()),
            ]);
        }
        vars
    }
}

/// The broker `args` name, called with the identity's token: the workload token of
/// `--oidc-token` exchanged first (and again whenever the broker no longer takes the
/// access token), else `STINT_TOKEN`, else `STINT_OIDC_TOKEN` exchanged.
pub fn connect(args: &BrokerArgs) -> Result<Broker, ClientError> {
    let set = |name: &str| std::env::var(name).ok().filter(|t| !t.trim().is_empty());
    if let Some(file) = &args.oidc_token {
        return Broker::exchanged(&args.broker, Subject::File(file.clone()));
    }
    if let Some(token) = set("STINT_TOKEN") {
        return Ok(Broker::new(&args.broker, &token));
    }
    if let Some(token) = set("STINT_OIDC_TOKEN") {
        return Broker::exchanged(&args.broker, Subject::Value(token));
    }
    Err(ClientError::Unexpected(
        "set STINT_TOKEN to the identity's API token, or give a workload token with \
         --oidc-token FILE or STINT_OIDC_TOKEN"
            .into(),
    ))
}

/// `stint request`: files the request; with `wait`, waits for the decision and prints the
/// credential.
pub fn request(args: &AccessArgs, wait: bool, output: Output) -> Exit {
    let outcome = connect(&args.broker).and_then(|broker| {
        let filed = file(&broker, args)?;
        if !wait {
            match output {
                Output::Json => println!("{}", json!({ "request_id": filed.request.id })),
                Output::Token | Output::Env => println!("{}", filed.request.id),
            }
            return Ok(Ok(None));
        }
        Ok(await_grant(&broker, &filed, args.timeout).map(Some))
    });
    match outcome {
        Ok(Ok(Some(granted))) => {
            granted.print(output);
            Exit::Granted
        }
        Ok(Ok(None)) => Exit::Granted,
        Ok(Err(exit)) => exit,
        Err(e) => fail(&e),
    }
}

/// Says what went wrong on stderr; the exit code of an error.
pub fn fail(e: &ClientError) -> Exit {
    eprintln!("stint: {e}");
    Exit::Error
}

/// Files the request `args` describe, after checking the token is the identity's.
pub fn file(broker: &Broker, args: &AccessArgs) -> Result<RequestDetail, ClientError> {
    let me: MeView = broker.get("/me")?;
    let Some(identity_id) = me.user.identity_id else {
        return Err(ClientError::Unexpected(
            "STINT_TOKEN is not an identity's API token".into(),
        ));
    };
    if me.user.display_name != args.identity {
        return Err(ClientError::Unexpected(format!(
            "this token is {}'s, not {}'s",
            me.user.display_name, args.identity
        )));
    }
    let resources: Vec<ResourceView> = broker.get("/resources")?;
    let resource = resources
        .iter()
        .find(|r| r.name == args.resource)
        .ok_or_else(|| {
            let names: Vec<&str> = resources.iter().map(|r| r.name.as_str()).collect();
            ClientError::Unexpected(format!(
                "no resource is named {}; there are: {}",
                args.resource,
                names.join(", ")
            ))
        })?;
    let body = NewRequestBody {
        identity_id,
        resource_id: resource.id,
        privilege: args.privilege.clone(),
        duration_secs: args.duration.as_secs() as i64,
        justification: Justification {
            task: args.task.clone(),
            ticket: args.ticket.clone(),
        },
        starts_at: None,
    };
    let filed: RequestDetail = broker.post("/requests", &body)?;
    eprintln!(
        "stint: filed request {} for {} on {} ({}, {})",
        filed.request.id,
        args.identity,
        args.resource,
        args.privilege,
        humantime::format_duration(args.duration)
    );
    Ok(filed)
}

/// Waits for the decision on `filed` until `timeout`; the grant and a fresh credential
/// when approved, else the exit code that says how it ended.
pub fn await_grant(
    broker: &Broker,
    filed: &RequestDetail,
    timeout: Duration,
) -> Result<Granted, Exit> {
    let approved = await_decision(broker, filed, timeout)?;
    credential(broker, &approved)
}

/// Waits for the decision on `filed` until `timeout`: the request once approved, else the
/// exit code that says how it ended. A request still pending at the timeout is withdrawn,
/// so nobody approves what nobody waits for.
pub fn await_decision(
    broker: &Broker,
    filed: &RequestDetail,
    timeout: Duration,
) -> Result<RequestDetail, Exit> {
    let id = filed.request.id;
    let deadline = Instant::now() + timeout;
    let mut detail = filed.clone();
    let mut said_waiting = false;
    loop {
        match detail.request.state {
            RequestState::Approved => return Ok(detail),
            RequestState::Denied => {
                let why = detail.request.decision_comment.as_deref().unwrap_or("");
                eprintln!("stint: request {id} was denied: {why}");
                return Err(Exit::Denied);
            }
            RequestState::Cancelled | RequestState::Expired => {
                eprintln!("stint: request {id} is {}", detail.request.state.as_str());
                return Err(Exit::ExpiredOrCancelled);
            }
            RequestState::Pending => {}
        }
        if Instant::now() >= deadline {
            eprintln!(
                "stint: no decision on request {id} within {}; withdrawing it",
                humantime::format_duration(timeout)
            );
            let path = format!("/requests/{id}/cancel");
            match broker.post::<RequestDetail>(&path, &json!({})) {
                Ok(_) => return Err(Exit::TimedOut),
                // Decided in the meantime: the decision stands, whatever it was.
                Err(ClientError::Refused { status: 409, .. }) => {
                    detail = read_request(broker, id)?;
                    if detail.request.state != RequestState::Pending {
                        continue;
                    }
                    return Err(Exit::TimedOut);
                }
                Err(e) => {
                    eprintln!("stint: could not withdraw request {id}: {e}");
                    return Err(Exit::TimedOut);
                }
            }
        }
        if !said_waiting {
            eprintln!("stint: waiting for approval of request {id}…");
            said_waiting = true;
        }
        std::thread::sleep(POLL_EVERY.min(deadline.saturating_duration_since(Instant::now())));
        detail = read_request(broker, id)?;
    }
}

/// How often a look at the request may fail in a row (the network, a broker restarting)
/// before waiting gives up.
const LOOK_ATTEMPTS: u32 = 5;

/// The request now, trying again a few times over a passing outage.
fn read_request(broker: &Broker, id: i64) -> Result<RequestDetail, Exit> {
    let path = format!("/requests/{id}");
    let mut attempt = 1;
    loop {
        match broker.get(&path) {
            Ok(detail) => return Ok(detail),
            Err(ClientError::Unreachable { .. }) if attempt < LOOK_ATTEMPTS => {
                std::thread::sleep(POLL_EVERY * 2u32.pow(attempt));
                attempt += 1;
            }
            Err(e) => return Err(fail(&e)),
        }
    }
}

/// How many times a credential is asked for while its access downstream is being made
/// (each ask waits up to 10 s at the broker).
const PROVISIONING_LOOKS: u32 = 6;

fn credential(broker: &Broker, detail: &RequestDetail) -> Result<Granted, Exit> {
    let grant = detail.grant.as_ref().ok_or_else(|| {
        fail(&ClientError::Unexpected(format!(
            "request {} is approved but shows no grant",
            detail.request.id
        )))
    })?;
    let path = format!("/grants/{}/credential", grant.id);
    let mut look = 1;
    let credential: CredentialView = loop {
        match broker.post(&path, &json!({})) {
            Ok(credential) => break credential,
            // A connector is still making the access downstream (the broker already waited
            // a while for it): wait on, saying why.
            Err(ClientError::Refused { code, message, .. })
                if code == "provisioning" && look < PROVISIONING_LOOKS =>
            {
                eprintln!("stint: {message}");
                std::thread::sleep(Duration::from_secs(2));
                look += 1;
            }
            Err(e) => return Err(fail(&e)),
        }
    };
    eprintln!(
        "stint: granted: grant {} until {}",
        grant.id,
        grant.expires_at.to_rfc3339()
    );
    Ok(Granted {
        request_id: detail.request.id,
        grant_id: grant.id,
        credential,
    })
}

/// `stint grants`: this identity's grants, live and scheduled ones by default.
pub fn grants(broker: &BrokerArgs, all: bool, json_output: bool) -> Exit {
    let listed =
        connect(broker).and_then(|broker| broker.get::<Vec<GrantView>>("/grants?mine=true"));
    let grants: Vec<GrantView> = match listed {
        Ok(grants) => grants
            .into_iter()
            .filter(|g| all || !g.state.is_final())
            .collect(),
        Err(e) => return fail(&e),
    };
    if json_output {
        println!("{}", serde_json::to_string(&grants).unwrap_or_default());
        return Exit::Granted;
    }
    if grants.is_empty() {
        eprintln!("stint: no grants");
    }
    for g in &grants {
        println!(
            "{}\t{}\t{}\t{}\t{}",
            g.id,
            g.state.as_str(),
            g.resource.name,
            g.privilege,
            until(g.expires_at)
        );
    }
    Exit::Granted
}

fn until(at: DateTime<Utc>) -> String {
    format!("until {}", at.to_rfc3339())
}

/// What `stint extend` asks for.
pub struct Extension {
    pub grant_id: i64,
    pub duration: Duration,
    pub task: String,
    pub ticket: Option<String>,
}

/// `stint extend`: asks for more time on one of the identity's live grants; with `wait`,
/// waits for the decision and prints the grant's new expiry on stdout, else the extension
/// request's id.
pub fn extend(broker: &BrokerArgs, extension: &Extension, wait: bool, timeout: Duration) -> Exit {
    let outcome = connect(broker).and_then(|broker| {
        let body = ExtendBody {
            duration_secs: extension.duration.as_secs() as i64,
            justification: Justification {
                task: extension.task.clone(),
                ticket: extension.ticket.clone(),
            },
        };
        let grant_id = extension.grant_id;
        let filed: RequestDetail = broker.post(&format!("/grants/{grant_id}/extend"), &body)?;
        eprintln!(
            "stint: asked to extend grant {grant_id} by {} (request {})",
            humantime::format_duration(extension.duration),
            filed.request.id
        );
        if !wait {
            println!("{}", filed.request.id);
            return Ok(Ok(()));
        }
        Ok(await_decision(&broker, &filed, timeout).and_then(|_| {
            let grant: GrantView = broker
                .get(&format!("/grants/{grant_id}"))
                .map_err(|e| fail(&e))?;
            eprintln!(
                "stint: grant {grant_id} extended {}",
                until(grant.expires_at)
            );
            println!("{}", grant.expires_at.to_rfc3339());
            Ok(())
        }))
    });
    match outcome {
        Ok(Ok(())) => Exit::Granted,
        Ok(Err(exit)) => exit,
        Err(e) => fail(&e),
    }
}

/// Ends the identity's grant now because its task is over (`stint revoke`, and `exec`
/// when its command exits).
pub fn release(broker: &Broker, grant_id: i64, outcome: ReleaseOutcome, note: &str) -> Exit {
    let body = json!({ "outcome": outcome, "note": note });
    match broker.post::<GrantView>(&format!("/grants/{grant_id}/release"), &body) {
        Ok(grant) => {
            eprintln!(
                "stint: released grant {grant_id} ({}): {}",
                outcome.as_str(),
                grant.state.as_str()
            );
            Exit::Granted
        }
        Err(e) => fail(&e),
    }
}
