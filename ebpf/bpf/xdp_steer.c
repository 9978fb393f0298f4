// SPDX-License-Identifier: Apache-2.0
// ferrovs XDP steering program: every frame received on an rx queue that has an AF_XDP socket
// registered in `xsks` (keyed by queue index) is redirected to that socket; frames of queues
// without one go on to the kernel stack (the XDP_PASS fallback of bpf_redirect_map).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

// One slot per rx queue; queues beyond this pass to the kernel.
#define FERROVS_MAX_QUEUES 256

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, FERROVS_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

SEC("xdp")
int xdp_steer(struct xdp_md *ctx)
{
	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

// No GPL-only helper is used.
char _license[] SEC("license") = "Apache-2.0";
