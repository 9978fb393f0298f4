// SPDX-License-Identifier: Apache-2.0
// ferrovs XDP program, one instance per port.
//
// 1. The in-kernel fast path: cached megaflows, each projected onto the header key below (its
//    mask in `masks`, its masked key and actions in `flows`), found by tuple-space search over
//    at most FERROVS_MAX_MASKS masks, probed in slot order (most-hit first). A frame whose masked key has an entry stamped with the
//    generation in `generation[0]` gets that entry's actions here (VLAN pop/push, Ethernet
//    address rewrite, then redirect to one port or drop); the entry counts it. Userspace
//    installs an entry when a frame hits a cached megaflow whose actions XDP can carry, and
//    bumps the generation whenever anything that can change a translation changes, which
//    retires every entry at once (generation 0: fast path off), then re-stamps with the new
//    generation the entries whose translation did not change.
//    GRE: an entry may instead prepend a stored outer Ethernet/IPv4/GRE header (tunnel push,
//    completing the outer total length and header checksum per frame) and redirect to the
//    underlay port; a GRE frame whose outer headers and inner frame have an exact entry in
//    `tnl_flows` loses its outer headers (tunnel pop) and gets the inner entry's actions.
// 2. Everything else (and every frame the parser below does not take: ARP, IPv6, IPv4 with
//    options or fragments, two VLAN tags, a partial TCP/UDP checksum left by a local sender)
//    goes to the AF_XDP socket of its rx queue, registered in `xsks`; frames of queues
//    without one go on to the kernel stack (the XDP_PASS fallback of bpf_redirect_map).
//
// The parser takes only frames that userspace's extractor (flowtable::extract) accepts as
// well-formed, so the fast path never forwards a frame the slow path would drop as malformed;
// for those frames every flow-key field outside `struct flow_key` except TCP flags has a fixed
// value, which is why a megaflow not matching on TCP flags projects onto it exactly. The
// layouts are mirrored in Rust by `ebpf::offload`.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

// One slot per rx queue; queues beyond this pass to the kernel.
#define FERROVS_MAX_QUEUES 256
// Offloaded megaflows per port.
#define FERROVS_MAX_FLOWS 65536
// Distinct megaflow masks per port.
#define FERROVS_MAX_MASKS 8

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, FERROVS_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

// The header key (32 bytes, four 64-bit words). L3/L4 fields are zero for non-IPv4 frames.
struct flow_key {
	__u8 eth_dst[6];
	__u8 eth_src[6];
	__be16 eth_type;   // after the VLAN tag
	__be16 vlan_tci;   // 0: untagged; else the tag's TCI with 0x1000 set (OVS's CFI = present)
	__be32 nw_src;
	__be32 nw_dst;
	__u8 nw_proto;
	__u8 nw_tos;
	__u8 nw_ttl;
	__u8 pad;
	__be16 tp_src;     // ICMP: type
	__be16 tp_dst;     // ICMP: code
};

// What to do (applied in this order), and the entry's counters.
#define ACT_POP_VLAN 1
#define ACT_PUSH_VLAN 2
#define ACT_SET_ETH_SRC 4
#define ACT_SET_ETH_DST 8
#define ACT_OUTPUT 16  // else drop
#define ACT_TUNNEL_PUSH 32  // alone with ACT_OUTPUT: prepend tnl_header, then redirect

// Outer Ethernet + IPv4 (no options) + GRE header lengths: without and with the key field.
#define GRE_HLEN 38
#define GRE_KEY_HLEN 42
#define GRE_FLAG_KEY 0x2000
#define ETH_P_TEB_ 0x6558

struct flow_actions {
	__u64 generation;
	__u64 packets;
	__u64 bytes;
	__u32 out_ifindex;
	__u32 flags;
	__be16 push_tpid;
	__be16 push_tci;
	__u8 eth_src[6];
	__u8 eth_dst[6];
	__u16 tnl_len;      // GRE_HLEN or GRE_KEY_HLEN
	__u16 tnl_max;      // largest encapsulated frame the underlay port takes; larger: userspace
	__u32 tnl_sum;      // sum of the outer IPv4 header's 16-bit words (host order), length and checksum 0
	__u8 tnl_header[48];
	// `flows` entries: the megaflow's mask. A hit counts only if the frame's key under it is
	// the entry's key, so a mask slot caught mid-rewrite (the masks are reordered by hits)
	// can make a frame miss, never take another megaflow's entry.
	struct flow_key mask;
};

// A megaflow's key: which mask (its id, not its slot: slots are reordered), and the header
// key under it.
struct masked_key {
	__u32 mask_id;
	__u32 pad;
	struct flow_key key;
};

// A mask slot (in_use 0: free). Slots are probed in order; userspace keeps the most-hit
// masks first.
struct mask_slot {
	__u32 in_use;
	__u32 id;          // the mask's id: its entries' `mask_id`
	struct flow_key mask;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FERROVS_MAX_FLOWS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct masked_key);
	__type(value, struct flow_actions);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FERROVS_MAX_MASKS);
	__type(key, __u32);
	__type(value, struct mask_slot);
} masks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} generation SEC(".maps");

// A GRE frame to decapsulate (72 bytes): its outer header key (untagged IPv4 carrying GRE),
// GRE key and flags (GRE_FLAG_KEY or 0: no checksum, sequence or routing), and the inner
// frame's key. Mirrored by `ebpf::TnlKeyXdp`.
struct tnl_key {
	struct flow_key outer;
	__be32 gre_key;
	__be16 gre_flags;
	__u16 pad;
	struct flow_key inner;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FERROVS_MAX_FLOWS);
	// Entries are allocated as installed: most ports never decapsulate anything.
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tnl_key);
	__type(value, struct flow_actions);
} tnl_flows SEC(".maps");

#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88a8

struct vlan_hdr_ {
	__be16 tci;
	__be16 next;
};

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

// Fills `key` from the frame; returns 0 if the fast path may handle it, -1 otherwise.
static __always_inline int parse(void *data, void *end, struct flow_key *key)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return -1;
	__builtin_memcpy(key->eth_dst, eth->h_dest, 6);
	__builtin_memcpy(key->eth_src, eth->h_source, 6);
	__be16 type = eth->h_proto;
	void *l3 = eth + 1;
	if (type == bpf_htons(ETH_P_8021Q_) || type == bpf_htons(ETH_P_8021AD_)) {
		struct vlan_hdr_ *v = l3;
		if ((void *)(v + 1) > end)
			return -1;
		key->vlan_tci = v->tci | bpf_htons(0x1000);
		type = v->next;
		l3 = v + 1;
		if (type == bpf_htons(ETH_P_8021Q_) || type == bpf_htons(ETH_P_8021AD_))
			return -1;
	}
	key->eth_type = type;
	// 802.2 frames, ARP and IPv6 are the slow path's.
	if (bpf_ntohs(type) < 0x0600 || type == bpf_htons(ETH_P_ARP) || type == bpf_htons(ETH_P_RARP) ||
	    type == bpf_htons(ETH_P_IPV6))
		return -1;
	if (type != bpf_htons(ETH_P_IP))
		return 0;

	struct iphdr *ip = l3;
	if ((void *)(ip + 1) > end)
		return -1;
	if (ip->version != 4 || ip->ihl != 5)
		return -1;
	__u32 total = bpf_ntohs(ip->tot_len);
	if (total < 20 || (void *)ip + total > end)
		return -1;
	if (ip->frag_off & bpf_htons(0x3fff))
		return -1;
	// Header checksum: the slow path drops a frame whose sum is wrong.
	__u32 sum = 0;
	__u16 *w = (__u16 *)ip;
#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	if (csum_fold(sum) != 0xffff)
		return -1;
	key->nw_src = ip->saddr;
	key->nw_dst = ip->daddr;
	key->nw_proto = ip->protocol;
	key->nw_tos = ip->tos;
	key->nw_ttl = ip->ttl;

	__u32 l4_len = total - 20;
	__u8 *l4 = (__u8 *)(ip + 1);
	// A partial checksum (the field holds the folded pseudo-header sum, as a local sender with
	// checksum offload leaves it) goes to userspace, which completes it.
	__u32 pseudo = (ip->saddr >> 16) + (ip->saddr & 0xffff) + (ip->daddr >> 16) + (ip->daddr & 0xffff) +
		       bpf_htons(ip->protocol) + bpf_htons((__u16)l4_len);
	__u16 partial = csum_fold(pseudo);
	switch (ip->protocol) {
	case IPPROTO_TCP: {
		if (l4_len < 20 || l4 + 20 > (__u8 *)end)
			return -1;
		__u32 doff = (l4[12] >> 4) * 4;
		if (doff < 20 || doff > l4_len)
			return -1;
		if (*(__u16 *)(l4 + 16) == partial)
			return -1;
		key->tp_src = *(__be16 *)l4;
		key->tp_dst = *(__be16 *)(l4 + 2);
		break;
	}
	case IPPROTO_UDP:
		if (l4_len < 8 || l4 + 8 > (__u8 *)end)
			return -1;
		if (*(__u16 *)(l4 + 6) == partial)
			return -1;
		key->tp_src = *(__be16 *)l4;
		key->tp_dst = *(__be16 *)(l4 + 2);
		break;
	case IPPROTO_SCTP:
		if (l4_len < 12 || l4 + 12 > (__u8 *)end)
			return -1;
		key->tp_src = *(__be16 *)l4;
		key->tp_dst = *(__be16 *)(l4 + 2);
		break;
	case IPPROTO_ICMP:
		if (l4_len < 4 || l4 + 4 > (__u8 *)end)
			return -1;
		key->tp_src = bpf_htons(l4[0]);
		key->tp_dst = bpf_htons(l4[1]);
		break;
	default:
		break;
	}
	return 0;
}

// Tunnel push: prepends the stored header, completes the outer IPv4 total length and header
// checksum as flowtable::tunnel::encapsulate does, and redirects. Returns -2 (frame untouched:
// userspace) for a frame too large for the underlay port once encapsulated, -1 on failure.
static __always_inline int tunnel_push(struct xdp_md *ctx, struct flow_actions *a)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 len = end - data;
	__u32 hlen = a->tnl_len;
	if (len + hlen > a->tnl_max)
		return -2;
	if (hlen == GRE_KEY_HLEN) {
		if (bpf_xdp_adjust_head(ctx, -GRE_KEY_HLEN))
			return -2;
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		if (data + GRE_KEY_HLEN > end)
			return -1;
		__builtin_memcpy(data, a->tnl_header, GRE_KEY_HLEN);
	} else if (hlen == GRE_HLEN) {
		if (bpf_xdp_adjust_head(ctx, -GRE_HLEN))
			return -2;
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		if (data + GRE_HLEN > end)
			return -1;
		__builtin_memcpy(data, a->tnl_header, GRE_HLEN);
	} else {
		return -2;
	}
	struct iphdr *ip = data + sizeof(struct ethhdr);
	if ((void *)(ip + 1) > end)
		return -1;
	__u16 tot = (__u16)(len + hlen - sizeof(struct ethhdr));
	ip->tot_len = bpf_htons(tot);
	ip->check = bpf_htons((__u16)~csum_fold(a->tnl_sum + tot));
	return bpf_redirect(a->out_ifindex, 0);
}

// Runs the entry's actions; returns the XDP verdict, -1 when the frame may have been changed
// and must be dropped, -2 to hand the (unchanged) frame to userspace.
static __always_inline int execute(struct xdp_md *ctx, struct flow_actions *a)
{
	__u32 flags = a->flags;
	if (flags & ACT_TUNNEL_PUSH)
		return tunnel_push(ctx, a);
	if (flags & ACT_POP_VLAN) {
		void *data = (void *)(long)ctx->data;
		void *end = (void *)(long)ctx->data_end;
		if (data + 18 > end)
			return -1;
		__be16 tpid = *(__be16 *)(data + 12);
		// As the slow path's pop_vlan: an untagged frame is left alone.
		if (tpid == bpf_htons(ETH_P_8021Q_) || tpid == bpf_htons(ETH_P_8021AD_)) {
			__u8 macs[12];
			__builtin_memcpy(macs, data, 12);
			if (bpf_xdp_adjust_head(ctx, 4))
				return -1;
			data = (void *)(long)ctx->data;
			end = (void *)(long)ctx->data_end;
			if (data + 12 > end)
				return -1;
			__builtin_memcpy(data, macs, 12);
		}
	}
	if (flags & ACT_PUSH_VLAN) {
		if (bpf_xdp_adjust_head(ctx, -4))
			return -1;
		void *data = (void *)(long)ctx->data;
		void *end = (void *)(long)ctx->data_end;
		if (data + 18 > end)
			return -1;
		__u8 macs[12];
		__builtin_memcpy(macs, data + 4, 12);
		__builtin_memcpy(data, macs, 12);
		__be16 *tag = data + 12;
		tag[0] = a->push_tpid;
		tag[1] = a->push_tci;
	}
	if (flags & (ACT_SET_ETH_SRC | ACT_SET_ETH_DST)) {
		void *data = (void *)(long)ctx->data;
		void *end = (void *)(long)ctx->data_end;
		if (data + 12 > end)
			return -1;
		if (flags & ACT_SET_ETH_DST)
			__builtin_memcpy(data, a->eth_dst, 6);
		if (flags & ACT_SET_ETH_SRC)
			__builtin_memcpy(data + 6, a->eth_src, 6);
	}
	if (flags & ACT_OUTPUT)
		return bpf_redirect(a->out_ifindex, 0);
	return XDP_DROP;
}

// Tunnel pop: for an untagged IPv4 GRE frame (`outer`, already parsed: no options, no
// fragment, valid header checksum) with exactly its IPv4 length, GRE flags KEY or none and
// protocol Ethernet, whose outer key, GRE key and inner key have an entry of generation `gen`:
// strips the outer headers and runs the entry's (inner) actions. Returns the XDP verdict, -1
// to drop, -2 to hand the frame (unchanged) to userspace.
static __always_inline int tunnel_pop(struct xdp_md *ctx, struct flow_key *outer, __u64 gen)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	if ((void *)(ip + 1) > end)
		return -2;
	__u32 len = end - data;
	// Ethernet padding after the IPv4 packet: userspace trims it.
	if (len != sizeof(struct ethhdr) + bpf_ntohs(ip->tot_len))
		return -2;
	__u8 *gre = (__u8 *)(ip + 1);
	if (gre + 8 > (__u8 *)end)
		return -2;
	if (*(__be16 *)(gre + 2) != bpf_htons(ETH_P_TEB_))
		return -2;
	struct tnl_key tk = {};
	__builtin_memcpy(&tk.outer, outer, sizeof(tk.outer));
	__be16 flags = *(__be16 *)gre;
	__u32 hlen;
	if (flags == bpf_htons(GRE_FLAG_KEY)) {
		tk.gre_flags = flags;
		tk.gre_key = *(__be32 *)(gre + 4);
		hlen = GRE_KEY_HLEN;
	} else if (flags == 0) {
		hlen = GRE_HLEN;
	} else {
		return -2;
	}
	if (parse(data + hlen, end, &tk.inner))
		return -2;
	struct flow_actions *a = bpf_map_lookup_elem(&tnl_flows, &tk);
	if (!a || a->generation != gen)
		return -2;
	if (hlen == GRE_KEY_HLEN) {
		if (bpf_xdp_adjust_head(ctx, GRE_KEY_HLEN))
			return -2;
	} else if (bpf_xdp_adjust_head(ctx, GRE_HLEN)) {
		return -2;
	}
	int verdict = execute(ctx, a);
	if (verdict < 0)
		return -1;
	__sync_fetch_and_add(&a->packets, 1);
	__sync_fetch_and_add(&a->bytes, len);
	return verdict;
}

SEC("xdp")
int xdp_steer(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *gen = bpf_map_lookup_elem(&generation, &zero);
	if (!gen || !*gen)
		goto slow_path;
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct flow_key key = {};
	if (parse(data, end, &key))
		goto slow_path;
	__u64 *k = (__u64 *)&key;
	// Tuple-space search: megaflows never overlap, so the first hit is the one.
	for (__u32 i = 0; i < FERROVS_MAX_MASKS; i++) {
		struct mask_slot *m = bpf_map_lookup_elem(&masks, &i);
		if (!m || !m->in_use)
			continue;
		__u64 *mw = (__u64 *)&m->mask;
		struct masked_key mk = { .mask_id = m->id };
		__u64 *o = (__u64 *)&mk.key;
		o[0] = k[0] & mw[0];
		o[1] = k[1] & mw[1];
		o[2] = k[2] & mw[2];
		o[3] = k[3] & mw[3];
		struct flow_actions *a = bpf_map_lookup_elem(&flows, &mk);
		if (!a || a->generation != *gen)
			continue;
		__u64 *em = (__u64 *)&a->mask;
		if ((k[0] & em[0]) != o[0] || (k[1] & em[1]) != o[1] || (k[2] & em[2]) != o[2] ||
		    (k[3] & em[3]) != o[3])
			continue;
		__u64 len = end - data;
		int verdict = execute(ctx, a);
		if (verdict >= 0) {
			__sync_fetch_and_add(&a->packets, 1);
			__sync_fetch_and_add(&a->bytes, len);
			return verdict;
		}
		// -1: a failed header adjustment may have moved the frame: drop rather than hand
		// userspace a half-rewritten frame. -2: the entry leaves this frame to userspace.
		if (verdict == -1)
			return XDP_DROP;
		goto slow_path;
	}
	if (key.nw_proto == IPPROTO_GRE && key.vlan_tci == 0 && key.eth_type == bpf_htons(ETH_P_IP)) {
		int verdict = tunnel_pop(ctx, &key, *gen);
		if (verdict >= 0)
			return verdict;
		if (verdict == -1)
			return XDP_DROP;
	}
slow_path:
	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

// No GPL-only helper is used.
char _license[] SEC("license") = "Apache-2.0";
