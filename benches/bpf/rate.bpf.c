// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
// XDP programs of the packet-rate harness (benches/src/bin/rate.rs):
//   xdp_gen  - the traffic generator, run with BPF_PROG_RUN + BPF_F_TEST_XDP_LIVE_FRAMES on g0:
//              stamps a flow number (UDP source port / IPv4 source), a sequence and a
//              bpf_ktime_get_ns() timestamp into every frame and transmits it out of g0 (XDP_TX).
//   xdp_sink - on k0: counts harness frames and bytes, buckets their one-way latency, drops all.
//   xdp_fwd  - the kernel ceiling "switch" on s0: redirects every frame to s1 through a devmap.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define RATE_MAGIC 0xf3e20c5bU
#define LAT_BUCKETS 512
#define FLOWS_PER_SADDR 60000

/* Layout after the UDP header; kept in sync with benches/src/rate/frame.rs. */
struct rate_payload {
	__u32 magic;
	__u32 flow;
	__u64 ts_ns;
} __attribute__((packed));

struct rate_frame {
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	struct rate_payload p;
} __attribute__((packed));

/* Set by the loader (.rodata). */
volatile const __u32 nflows = 1;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} gen_seq SEC(".maps");

/* 0: harness frames, 1: their bytes, 2: other frames, 3: frames with a timestamp in the future */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} sink_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LAT_BUCKETS);
	__type(key, __u32);
	__type(value, __u64);
} sink_lat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} fwd_ports SEC(".maps");

/* The IPv4 header checksum of the 20-byte header at `ip` (its check field must be 0). */
static __always_inline __u16 ip_checksum(const void *ip)
{
	const __u16 *w = ip;
	__u32 sum = 0;
#pragma unroll
	for (int i = 0; i < (int)(sizeof(struct iphdr) / 2); i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

SEC("xdp")
int xdp_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct rate_frame *f = data;
	__u32 zero = 0;

	if ((void *)(f + 1) > end)
		return XDP_ABORTED;
	__u64 *seq = bpf_map_lookup_elem(&gen_seq, &zero);
	if (!seq)
		return XDP_ABORTED;
	__u64 n = *seq;
	*seq = n + 1;
	__u32 flow = nflows > 1 ? (__u32)(n % nflows) : 0;
	f->udp.source = bpf_htons(1024 + flow % FLOWS_PER_SADDR);
	/* 10.1.x.y: one source address per FLOWS_PER_SADDR flows. */
	f->ip.saddr = bpf_htonl(0x0a010001 + flow / FLOWS_PER_SADDR);
	f->ip.check = 0;
	f->ip.check = ip_checksum(data + sizeof(struct ethhdr));
	f->p.magic = RATE_MAGIC;
	f->p.flow = flow;
	f->p.ts_ns = bpf_ktime_get_ns();
	return XDP_TX;
}

/* 16 exact buckets for 0..15 ns, then 8 sub-buckets per power of two (12.5 % wide). */
static __always_inline __u32 lat_bucket(__u64 d)
{
	if (d < 16)
		return (__u32)d;
	__u32 msb = 0;
	__u64 x = d;
	if (x >> 32) { msb += 32; x >>= 32; }
	if (x >> 16) { msb += 16; x >>= 16; }
	if (x >> 8) { msb += 8; x >>= 8; }
	if (x >> 4) { msb += 4; x >>= 4; }
	if (x >> 2) { msb += 2; x >>= 2; }
	if (x >> 1) { msb += 1; }
	__u32 sub = (__u32)(d >> (msb - 3)) & 7;
	__u32 b = 16 + (msb - 4) * 8 + sub;
	return b < LAT_BUCKETS ? b : LAT_BUCKETS - 1;
}

static __always_inline void bump(void *map, __u32 key, __u64 by)
{
	__u64 *v = bpf_map_lookup_elem(map, &key);
	if (v)
		*v += by;
}

SEC("xdp")
int xdp_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct rate_frame *f = data;

	if ((void *)(f + 1) > end || f->eth.h_proto != bpf_htons(ETH_P_IP) || f->ip.protocol != IPPROTO_UDP ||
	    f->p.magic != RATE_MAGIC) {
		bump(&sink_stats, 2, 1);
		return XDP_DROP;
	}
	bump(&sink_stats, 0, 1);
	bump(&sink_stats, 1, (__u64)(end - data));
	__u64 now = bpf_ktime_get_ns();
	__u64 ts = f->p.ts_ns;
	if (ts > now) {
		bump(&sink_stats, 3, 1);
		return XDP_DROP;
	}
	bump(&sink_lat, lat_bucket(now - ts), 1);
	return XDP_DROP;
}

SEC("xdp")
int xdp_fwd(struct xdp_md *ctx)
{
	return bpf_redirect_map(&fwd_ports, 0, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
