// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The one definition of every map and of the config (see common.bpf.h). */
#include "common.bpf.h"

td_rings_map td_rings SEC(".maps");
td_sock_map td_socks SEC(".maps");
td_listen_map td_listeners SEC(".maps");
td_counter_map td_counters SEC(".maps");
td_closed_map td_last_closed SEC(".maps");
td_child_map td_child_pend SEC(".maps");
td_port_map td_ports SEC(".maps");
td_pid_map td_pids SEC(".maps");
td_cgsel_map td_cgsel SEC(".maps");
td_old_sock_map td_old_socks SEC(".maps");
td_cg_hist_map td_cg_hist SEC(".maps");
td_cg_hist_full_map td_cg_hist_full SEC(".maps");
td_lpm_map td_laddrs SEC(".maps");
td_lpm_map td_raddrs SEC(".maps");
td_tw_map td_tws SEC(".maps");
td_tw_end_map td_tw_ends SEC(".maps");
td_closing_map td_closing SEC(".maps");
td_tw_fin_map td_tw_fins SEC(".maps");
td_tw_hint_map td_tw_hints SEC(".maps");
td_hist_map td_hist SEC(".maps");
td_hist_stat_map td_hist_stats SEC(".maps");
td_agg_map td_agg SEC(".maps");
td_label_port_map td_label_ports SEC(".maps");
td_label_peer_map td_label_peers SEC(".maps");

__u32 td_tw_nends;
__u32 td_tw_nfins;
__u64 td_hist_gen;

const volatile struct td_config td_cfg = {
    .wakeup_bytes = 1 << 20,
};

char LICENSE[] SEC("license") = "Dual BSD/GPL";
