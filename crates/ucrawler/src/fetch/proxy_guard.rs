//! The `private_addresses` guard for requests that go through a `proxy`. The proxy resolves the
//! target's name and connects to it, so the guarded resolver never sees the target (only the
//! proxy's own name, which the operator chose and which is not checked). This connector layer
//! checks the target of each new connection instead, before the proxy is asked: an IP literal
//! as it is, a name by resolving it here. Being a layer of the client, it covers every request
//! the crawler makes (pages, redirects, robots.txt, retries).
//!
//! Limits: a name must resolve here to be checked (one that does not fails with `dns`), and the
//! proxy resolves it again, so a name that answers differently each time (DNS rebinding) can
//! still reach a private address through it; a proxy that refuses private destinations itself
//! closes that too.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower::{Layer, Service};
use url::{Host, Url};

use crate::error::{CrawlError, REFUSED};
use crate::politeness::AddressGuard;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The connector layer that checks a proxied connection's target against the guard.
#[derive(Clone)]
pub(crate) struct ProxyTargetLayer(Arc<AddressGuard>);

impl ProxyTargetLayer {
    pub fn new(guard: Arc<AddressGuard>) -> Self {
        Self(guard)
    }
}

impl<S> Layer<S> for ProxyTargetLayer {
    type Service = ProxyTargetCheck<S>;

    fn layer(&self, inner: S) -> ProxyTargetCheck<S> {
        ProxyTargetCheck {
            inner,
            guard: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct ProxyTargetCheck<S> {
    inner: S,
    guard: Arc<AddressGuard>,
}

impl<S, R> Service<R> for ProxyTargetCheck<S>
where
    S: Service<R, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
    R: std::fmt::Debug + Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BoxFuture<Result<S::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        // The service polled ready is the one to call (tower's clone-and-swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let guard = self.guard.clone();
        let target = destination(&request);
        Box::pin(async move {
            check_target(&guard, target?).await?;
            inner.call(request).await
        })
    }
}

/// The destination of a connection. reqwest hands its connector layers the target URI in a
/// type of its own that only shows it through `Debug` (`Unnameable(http://host:port/)`); one
/// that cannot be read is refused, never let through unchecked.
fn destination(request: &impl std::fmt::Debug) -> Result<Url, CrawlError> {
    let shown = format!("{request:?}");
    let uri = shown
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or(&shown);
    Url::parse(uri).map_err(|_| {
        CrawlError::AddressRefused(format!(
            "cannot read the target of a proxied connection ({shown}): {REFUSED}"
        ))
    })
}

/// Whether the guard lets `target` be reached: every address its name resolves to here must be
/// allowed, since the proxy may connect to any of them.
async fn check_target(guard: &AddressGuard, target: Url) -> Result<(), BoxError> {
    let ip = match target.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(Host::Domain(name)) => {
            let port = target.port_or_known_default().unwrap_or(80);
            for addr in tokio::net::lookup_host((name, port)).await? {
                guard.check(name, addr.ip())?;
            }
            return Ok(());
        }
        None => return Err(Box::new(CrawlError::InvalidUrl(target.to_string()))),
    };
    guard.check(target.host_str().unwrap_or_default(), ip)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PrivateAddresses;

    /// Shown as reqwest's is: a derived `Debug` around `http::Uri`, whose `Debug` is its text.
    struct Unnameable(&'static str);

    impl std::fmt::Debug for Unnameable {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "Unnameable({})", self.0)
        }
    }

    #[test]
    fn reads_the_destination_as_reqwest_shows_it() {
        let url = destination(&Unnameable("http://127.0.0.1:8080/")).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/");
        let v6 = destination(&Unnameable("https://[::1]:443/")).unwrap();
        assert_eq!(v6.host(), Some(Host::Ipv6("::1".parse().unwrap())));
        let unreadable = destination(&Unnameable("no uri")).unwrap_err();
        assert_eq!(unreadable.kind(), "address_refused");
    }

    #[tokio::test]
    async fn checks_literals_and_resolved_names() {
        let deny = AddressGuard::new(PrivateAddresses::Deny);
        let url = |s: &str| Url::parse(s).unwrap();
        for private in [
            "http://127.0.0.1:1/",
            "http://[::1]:1/",
            "http://169.254.169.254/",
            "http://localhost:1/",
        ] {
            let refused = check_target(&deny, url(private)).await.unwrap_err();
            assert!(
                refused.to_string().contains(REFUSED),
                "{private}: {refused}"
            );
        }
        assert!(check_target(&deny, url("http://93.184.216.34/"))
            .await
            .is_ok());
        let seeds = AddressGuard::new(PrivateAddresses::Seeds);
        seeds.trust_seed_host("localhost");
        assert!(check_target(&seeds, url("http://localhost:1/"))
            .await
            .is_ok());
        assert!(check_target(&seeds, url("http://127.0.0.1:1/"))
            .await
            .is_err());
    }
}
