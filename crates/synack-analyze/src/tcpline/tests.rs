use super::*;

/// An IPv4 SYN 10.0.0.1:40000 -> 10.0.0.2:80 with the given options.
fn syn(opts: &[u8]) -> Vec<u8> {
    let hl = 20 + opts.len();
    let mut p = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
    p[2..4].copy_from_slice(&((20 + hl) as u16).to_be_bytes());
    p.extend_from_slice(&[0x9c, 0x40, 0, 80, 0, 0, 0x10, 0, 0, 0, 0, 0]);
    p.push(((hl / 4) as u8) << 4);
    p.extend_from_slice(&[0x02, 0xfa, 0xf0, 0, 0, 0, 0]);
    p.extend_from_slice(opts);
    p
}

#[test]
fn options_read_as_tcpdump_prints_them() {
    let opts = [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7, 30, 4, 0x01, 0x01];
    let p = syn(&opts);
    let l = line(&mut SeqBases::default(), &p, p.len()).expect("tcp");
    assert_eq!(
        l,
        "IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 4096, win 64240, options [mss \
         1460,sackOK,TS val 1 ecr 0,nop,wscale 7,mptcp 4 capable v1], length 0"
    );
    // Cut inside the timestamps: tcpdump prints what it could, then where the bytes ran out
    // (both texts as tcpdump 4.99 prints them for these bytes).
    let cut = &p[..20 + 20 + 8];
    let l = line(&mut SeqBases::default(), cut, p.len()).expect("tcp");
    assert!(l.ends_with("options [mss 1460,sackOK,TS [|tcp]>"), "{l}");
    // A total length of 0 (an offloaded send) is tcpdump's `bad-len 0`.
    let mut tso = p.clone();
    tso[2] = 0;
    tso[3] = 0;
    assert_eq!(line(&mut SeqBases::default(), &tso, tso.len()).as_deref(), Some("IP bad-len 0"));
}
