//! Per-destination route metrics: what an administrator set for the path to one address (the
//! metrics of a Linux route, `ip route change DST ... advmss N mtu [lock] N initcwnd N`). A
//! connection reads them when it is made; a changed path MTU reaches the connections to that
//! destination at once (see [`crate::Endpoint::set_route`]).

use alloc::collections::BTreeMap;
use core::net::IpAddr;

/// The settings of the route to one destination; `None` leaves the endpoint's own.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct RouteMetrics {
    /// The MSS our SYN and SYN-ACK announce to peers over this route (Linux's `advmss`,
    /// `RTAX_ADVMSS`), in place of the one derived from the link MTU.
    pub advmss: Option<u16>,
    /// The path MTU (Linux's `mtu`, `RTAX_MTU`): the largest packet sent to the destination.
    pub mtu: Option<u16>,
    /// The path MTU is fixed (`mtu lock`): "packet too big" reports do not lower it.
    pub mtu_locked: bool,
    /// The congestion window new connections start with, in segments (Linux's `initcwnd`).
    pub initcwnd: Option<u16>,
}

/// The routes with metrics, by destination address.
#[derive(Debug, Default)]
pub(crate) struct Routes {
    by_dst: BTreeMap<IpAddr, RouteMetrics>,
}

impl Routes {
    /// The route to `dst`, if one has metrics.
    pub(crate) fn get(&self, dst: IpAddr) -> Option<&RouteMetrics> {
        self.by_dst.get(&dst)
    }

    /// Sets (or with `None` removes) the route to `dst`.
    pub(crate) fn set(&mut self, dst: IpAddr, metrics: Option<RouteMetrics>) {
        match metrics {
            Some(m) => {
                self.by_dst.insert(dst, m);
            }
            None => {
                self.by_dst.remove(&dst);
            }
        }
    }
}
