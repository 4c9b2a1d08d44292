//! Route metrics set while the endpoint runs ([`Endpoint::set_route`]).

use core::net::IpAddr;

use super::{ConnId, Endpoint};
use crate::route::RouteMetrics;

impl Endpoint {
    /// Sets the metrics of the route to `dst` (`None` removes them). Connections made to
    /// `dst` from now on announce its `advmss`, send in its `mtu` and start with its
    /// `initcwnd`; connections open to `dst` take a changed `mtu` (at most the link's) at
    /// once (a path MTU search takes it as its new upper bound; see
    /// `ConnConfig::mtu_probing`). A locked `mtu` is not lowered by "packet too big" reports.
    pub fn set_route(&mut self, dst: IpAddr, metrics: Option<RouteMetrics>) {
        let old = self.routes.get(dst).and_then(|r| r.mtu);
        self.routes.set(dst, metrics);
        let Some(mtu) = metrics.and_then(|m| m.mtu).filter(|&m| Some(m) != old) else { return };
        // No packet leaves larger than the link carries, whatever the route says (as at birth).
        let mtu = mtu.min(u16::try_from(self.config.mtu).unwrap_or(u16::MAX));
        let open: alloc::vec::Vec<ConnId> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.mapped && s.conn.as_ref().is_some_and(|c| c.tuple.remote.ip() == dst)
            })
            .map(|(i, s)| ConnId { index: i as u32, generation: s.generation })
            .collect();
        for id in open {
            self.with_conn(id, |c, _| c.route_mtu_changed(mtu));
            self.after(id);
        }
    }

    /// The route to `dst` fixes its path MTU (`mtu lock`).
    pub(super) fn route_mtu_locked(&self, dst: IpAddr) -> bool {
        self.routes.get(dst).is_some_and(|r| r.mtu_locked && r.mtu.is_some())
    }
}
