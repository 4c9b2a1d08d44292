//! smoltcp on the same kind of link as the engine benchmarks: two queues of frames in memory.

use super::*;
use smoltcp::iface::{Config, Interface as SInterface, SocketSet};
use smoltcp::phy::{self, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::Instant as SInstant;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr as SCidr};

type Queue = Rc<RefCell<VecDeque<Vec<u8>>>>;

pub(super) struct Dev {
    rx: Queue,
    tx: Queue,
    pool: Rc<RefCell<Vec<Vec<u8>>>>,
    mtu: usize,
    offload: bool,
}

pub(super) struct Rx(Vec<u8>, Rc<RefCell<Vec<Vec<u8>>>>);
pub(super) struct Tx<'a>(&'a Queue, &'a Rc<RefCell<Vec<Vec<u8>>>>);

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let r = f(&self.0);
        self.1.borrow_mut().push(self.0);
        r
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut b = self.1.borrow_mut().pop().unwrap_or_default();
        b.resize(len, 0);
        let r = f(&mut b);
        self.0.borrow_mut().push_back(b);
        r
    }
}

impl phy::Device for Dev {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;
    fn receive(&mut self, _t: SInstant) -> Option<(Rx, Tx<'_>)> {
        let f = self.rx.borrow_mut().pop_front()?;
        Some((Rx(f, self.pool.clone()), Tx(&self.tx, &self.pool)))
    }
    fn transmit(&mut self, _t: SInstant) -> Option<Tx<'_>> {
        Some(Tx(&self.tx, &self.pool))
    }
    fn capabilities(&self) -> DeviceCapabilities {
        let mut c = DeviceCapabilities::default();
        c.medium = Medium::Ip;
        c.max_transmission_unit = self.mtu;
        c.checksum = if self.offload {
            ChecksumCapabilities::ignored()
        } else {
            ChecksumCapabilities::default()
        };
        c
    }
}

fn side(dev: &mut Dev, addr: [u8; 4]) -> SInterface {
    let cfg = Config::new(HardwareAddress::Ip);
    let mut iface = SInterface::new(cfg, dev, SInstant::from_micros(0));
    iface.update_ip_addrs(|a| {
        a.push(SCidr::new(IpAddress::v4(addr[0], addr[1], addr[2], addr[3]), 8)).unwrap();
    });
    iface
}

/// Payload Gbit/s moving `bytes` from a to b over one smoltcp TCP connection.
/// With `offload`, neither side computes or verifies checksums (the device's job).
pub(super) fn bulk(mtu: usize, bytes: usize, offload: bool) -> f64 {
    let ab: Queue = Rc::default();
    let ba: Queue = Rc::default();
    let pool = Rc::new(RefCell::new(Vec::new()));
    let mut da = Dev { rx: ba.clone(), tx: ab.clone(), pool: pool.clone(), mtu, offload };
    let mut db = Dev { rx: ab, tx: ba, pool, mtu, offload };
    let mut ia = side(&mut da, [10, 0, 0, 1]);
    let mut ib = side(&mut db, [10, 0, 0, 2]);
    let mut sa = SocketSet::new(vec![]);
    let mut sb = SocketSet::new(vec![]);
    let mk = || {
        tcp::Socket::new(tcp::SocketBuffer::new(vec![0; BUF]), tcp::SocketBuffer::new(vec![0; BUF]))
    };
    let ha = sa.add(mk());
    let hb = sb.add(mk());
    sb.get_mut::<tcp::Socket<'_>>(hb).listen(5001).unwrap();
    sa.get_mut::<tcp::Socket<'_>>(ha)
        .connect(ia.context(), (IpAddress::v4(10, 0, 0, 2), 5001), 49152)
        .unwrap();
    let t0 = wall();
    let now = || SInstant::from_micros(micros_since(t0) as i64);
    for _ in 0..1000 {
        ia.poll(now(), &mut da, &mut sa);
        ib.poll(now(), &mut db, &mut sb);
        if sa.get::<tcp::Socket<'_>>(ha).may_send() {
            break;
        }
    }
    assert!(sa.get::<tcp::Socket<'_>>(ha).may_send(), "smoltcp handshake did not finish");
    let chunk = vec![0x5au8; 64 * 1024];
    let mut rbuf = vec![0u8; 256 * 1024];
    let (mut sent, mut got) = (0usize, 0usize);
    let start = wall();
    while got < bytes {
        let t = now();
        {
            let s = sa.get_mut::<tcp::Socket<'_>>(ha);
            while sent < bytes && s.can_send() {
                let n = (bytes - sent).min(chunk.len());
                match s.send_slice(&chunk[..n]) {
                    Ok(0) => break,
                    Ok(k) => sent += k,
                    Err(e) => panic!("smoltcp send: {e:?}"),
                }
            }
        }
        ia.poll(t, &mut da, &mut sa);
        ib.poll(t, &mut db, &mut sb);
        {
            let s = sb.get_mut::<tcp::Socket<'_>>(hb);
            while s.can_recv() {
                match s.recv_slice(&mut rbuf) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) => panic!("smoltcp recv: {e:?}"),
                }
            }
        }
        ib.poll(t, &mut db, &mut sb);
    }
    let secs = wall().duration_since(start).as_secs_f64();
    bytes as f64 * 8.0 / secs / 1e9
}
