# report.awk - turn the results file of bench.sh into tables and a goals list.
#
#   awk -v fmt=text -f report.awk results.tsv     aligned plain text
#   awk -v fmt=md   -f report.awk results.tsv     Markdown
#
# Input, tab-separated, one record per line:
#   M  KEY  VALUE                                   header line (in order)
#   B  MTU MODE TARGET BACKING MBPS IOPS CPU_S_PER_GIB CPU_PCT AOEX_CPU_PCT
#      REST_CPU_PCT SYSC_PER_REQ RETX ERRORS STATUS
#   K  MTU TARGET WRITE_MIBPS READ_MIBPS CPU_MS_PER_MIB STATUS
# Missing numbers are "-".  TARGET is aoexd or vblade; BACKING is tmpfs,
# disk or null.

BEGIN {
	FS = "\t"
	if (fmt == "")
		fmt = "text"
	nmtu = 0; nmode = 0; nkmtu = 0
}

$1 == "M" { mkey[++nmeta] = $2; mval[nmeta] = $3; next }

$1 == "B" {
	k = $2 SUBSEP $3 SUBSEP $4 SUBSEP $5
	have[k] = 1
	mbps[k] = $6; iops[k] = $7; cpug[k] = $8; cpup[k] = $9; icpu[k] = $10; ocpu[k] = $11
	spr[k] = $12; retx[k] = $13; errs[k] = $14; st[k] = $15
	if (!($2 in seen_mtu)) { seen_mtu[$2] = 1; mtus[++nmtu] = $2 }
	if (!($3 in seen_mode)) { seen_mode[$3] = 1; modes[++nmode] = $3 }
	next
}

$1 == "K" {
	k = $2 SUBSEP $3
	khave[k] = 1
	kw[k] = $4; kr[k] = $5; kc[k] = $6; kst[k] = $7
	if (!($2 in seen_kmtu)) { seen_kmtu[$2] = 1; kmtus[++nkmtu] = $2 }
	next
}

function num(x) { return x != "" && x != "-" && x ~ /^[0-9.eE+-]+$/ }
function ratio(a, b) { return (num(a) && num(b) && b + 0 > 0) ? a / b : "-" }
function f2(x) { return num(x) ? sprintf("%.2f", x) : "-" }
function f1(x) { return num(x) ? sprintf("%.1f", x) : "-" }
function f3(x) { return num(x) ? sprintf("%.3f", x) : "-" }
function f0(x) { return num(x) ? sprintf("%.0f", x) : "-" }

# ------------------------------------------------------------ table engine
# trow(c1, ..., c14): one row; "" cells beyond ncol are ignored.  tsep()
# marks a group break (a blank line in text, nothing in Markdown).
function tstart(n) { nrow = 0; ncol = n; delete T; delete SEP }
function tset(r, c, v) { T[r, c] = v }
function tsep() { SEP[nrow] = 1 }
function tflush(   r, c, w, line, s) {
	if (fmt == "md") {
		for (r = 0; r <= nrow; r++) {
			line = "|"
			for (c = 1; c <= ncol; c++)
				line = line " " T[r, c] " |"
			print line
			if (r == 0) {
				line = "|"
				for (c = 1; c <= ncol; c++)
					line = line (RIGHT[c] ? "---:|" : "---|")
				print line
			}
		}
		print ""
		return
	}
	for (c = 1; c <= ncol; c++) {
		w[c] = 0
		for (r = 0; r <= nrow; r++)
			if (length(T[r, c]) > w[c])
				w[c] = length(T[r, c])
	}
	for (r = 0; r <= nrow; r++) {
		line = ""
		for (c = 1; c <= ncol; c++) {
			s = T[r, c]
			if (RIGHT[c])
				s = sprintf("%" w[c] "s", s)
			else if (c < ncol)
				s = sprintf("%-" w[c] "s", s)
			line = line (c > 1 ? "  " : "") s
		}
		sub(/ +$/, "", line)
		print line
		if (r == 0) {
			line = ""
			for (c = 1; c <= ncol; c++) {
				s = sprintf("%" w[c] "s", "")
				gsub(/ /, "-", s)
				line = line (c > 1 ? "  " : "") s
			}
			print line
		}
		if (SEP[r] && r < nrow)
			print ""
	}
	print ""
}

function heading(s) {
	if (fmt == "md")
		print "## " s "\n"
	else {
		print s
		u = s; gsub(/./, "=", u); print u
	}
}
# para TEXT: a paragraph, wrapped at 100 columns in text mode
function para(s,   n, w, i, line) {
	if (fmt == "md") { print s; print ""; return }
	n = split(s, w, " ")
	line = ""
	for (i = 1; i <= n; i++) {
		if (w[i] == "") { if (line != "") line = line " "; continue }
		if (line != "" && length(line) + 1 + length(w[i]) > 100) { sub(/ +$/, "", line); print line; line = w[i] }
		else line = (line == "" ? w[i] : line " " w[i])
	}
	if (line != "") print line
	print ""
}

# ------------------------------------------------------------------ goals
function gstart() { ngoal = 0; nmet = 0; nnot = 0; nna = 0 }
# grow: one goal row; rows without a single measured value are left out
function grow(goal, cell, vals, verdict,   i, any) {
	any = 0
	for (i = 1; i <= GN; i++)
		if (num(GV[i]))
			any = 1
	if (!any)
		return
	gseen[substr(goal, 1, 2)] = 1
	ngoal++
	G[ngoal, 1] = goal; G[ngoal, 2] = cell; G[ngoal, 3] = vals; G[ngoal, 4] = verdict
	if (verdict == "met") nmet++
	else if (verdict == "NOT MET") nnot++
	else nna++
}
# verdict over the ratios collected in GV[1..GN] (op: ">=" or "<=" or "<")
function gcheck(op, th,   i, ok, any) {
	any = 0; ok = 1
	for (i = 1; i <= GN; i++) {
		if (!num(GV[i]))
			continue
		any = 1
		if (op == ">=" && !(GV[i] + 0 >= th)) ok = 0
		if (op == "<=" && !(GV[i] + 0 <= th)) ok = 0
		if (op == "<" && !(GV[i] + 0 < th)) ok = 0
	}
	return !any ? "n/a" : (ok ? "met" : "NOT MET")
}

END {
	RIGHT[0] = 0
	# ---------------------------------------------------------- header
	if (fmt == "md")
		print "# aoexd benchmark\n"
	else {
		print "aoexd benchmark"
		print "==============="
	}
	for (i = 1; i <= nmeta; i++) {
		if (fmt == "md")
			printf "- **%s**: %s\n", mkey[i], mval[i]
		else
			printf "%-13s %s\n", mkey[i] ":", mval[i]
	}
	print ""

	# ------------------------------------------------- bundled initiator
	order_t[1] = "aoexd"; order_b[1] = "null"
	order_t[2] = "aoexd"; order_b[2] = "tmpfs"
	order_t[3] = "vblade"; order_b[3] = "tmpfs"
	order_t[4] = "aoexd"; order_b[4] = "disk"
	order_t[5] = "vblade"; order_b[5] = "disk"
	if (nmtu > 0) {
		heading("Bundled initiator (aoex bench)")
		para("MB/s = 10^6 B/s.  IOPS: frames/s for seq modes, 4 KiB I/Os/s for rand modes.  CPU = utime+stime of the target process over the run (CPU s per GiB moved; CPU % of one core).  aoex %: the initiator's CPU (near 100: the initiator is the limit).  rest %: all other CPU time of the machine meanwhile (softirqs in ksoftirqd, and any other load: a high value means a noisy cell).  sysc/req: syscalls of the target per request frame, from a separate short run under strace -c -f.  vs vblade: aoexd / vblade on the same backing (MB/s, CPU per GiB).  vs null: file-backed / null-backed aoexd (MB/s, CPU per GiB).")
		tstart(17)
		split("MTU|mode|target|backing|MB/s|IOPS|CPU s/GiB|CPU %|aoex %|rest %|sysc/req|retx|vs vblade MB/s|vs vblade CPU|vs null MB/s|vs null CPU|note", H, "|")
		for (c = 1; c <= 17; c++) { T[0, c] = H[c]; RIGHT[c] = (c >= 5 && c <= 16) }
		for (mi = 1; mi <= nmtu; mi++) {
			m = mtus[mi]
			for (oi = 1; oi <= nmode; oi++) {
				md = modes[oi]
				for (j = 1; j <= 5; j++) {
					k = m SUBSEP md SUBSEP order_t[j] SUBSEP order_b[j]
					if (!(k in have))
						continue
					nrow++
					T[nrow, 1] = m; T[nrow, 2] = md; T[nrow, 3] = order_t[j]; T[nrow, 4] = order_b[j]
					T[nrow, 5] = f1(mbps[k]); T[nrow, 6] = f0(iops[k]); T[nrow, 7] = f3(cpug[k])
					T[nrow, 8] = f0(cpup[k]); T[nrow, 9] = f0(icpu[k]); T[nrow, 10] = f0(ocpu[k])
					T[nrow, 11] = f2(spr[k]); T[nrow, 12] = (retx[k] == "" ? "-" : retx[k])
					vs = "-"; vc = "-"; ns_ = "-"; nc = "-"
					if (order_t[j] == "aoexd" && order_b[j] != "null") {
						kv = m SUBSEP md SUBSEP "vblade" SUBSEP order_b[j]
						if (kv in have) { vs = f2(ratio(mbps[k], mbps[kv])); vc = f2(ratio(cpug[k], cpug[kv])) }
						kn = m SUBSEP md SUBSEP "aoexd" SUBSEP "null"
						if (kn in have) { ns_ = f2(ratio(mbps[k], mbps[kn])); nc = f2(ratio(cpug[k], cpug[kn])) }
					}
					T[nrow, 13] = vs; T[nrow, 14] = vc; T[nrow, 15] = ns_; T[nrow, 16] = nc
					note = (st[k] == "ok" ? "" : st[k])
					if (errs[k] != "" && errs[k] != "-" && errs[k] + 0 > 0)
						note = note (note == "" ? "" : " ") "errors=" errs[k]
					T[nrow, 17] = note
				}
				tsep()
			}
		}
		tflush()
	}

	# ------------------------------------------------- kernel initiator
	if (nkmtu > 0) {
		heading("Linux kernel initiator (aoe driver in qemu/TCG, dd O_DIRECT bs=1M)")
		para("MiB/s = 2^20 B/s, timed in the guest.  CPU ms/MiB: utime+stime of the target process over the whole run (boot, discovery, one write and two reads of the pattern) per MiB of pattern traffic.  vs vblade: aoexd / vblade.  Under TCG the guest is the bottleneck: compare CPU per MiB more than MiB/s.")
		tstart(9)
		split("MTU|target|write MiB/s|read MiB/s|CPU ms/MiB|vs vblade write|vs vblade read|vs vblade CPU|note", H, "|")
		for (c = 1; c <= 9; c++) { T[0, c] = H[c]; RIGHT[c] = (c >= 3 && c <= 8) }
		for (mi = 1; mi <= nkmtu; mi++) {
			m = kmtus[mi]
			for (j = 1; j <= 2; j++) {
				t = (j == 1 ? "aoexd" : "vblade")
				k = m SUBSEP t
				if (!(k in khave))
					continue
				nrow++
				T[nrow, 1] = m; T[nrow, 2] = t
				T[nrow, 3] = f1(kw[k]); T[nrow, 4] = f1(kr[k]); T[nrow, 5] = f2(kc[k])
				a = "-"; b = "-"; cc = "-"
				kv = m SUBSEP "vblade"
				if (t == "aoexd" && (kv in khave)) {
					a = f2(ratio(kw[k], kw[kv])); b = f2(ratio(kr[k], kr[kv])); cc = f2(ratio(kc[k], kc[kv]))
				}
				T[nrow, 6] = a; T[nrow, 7] = b; T[nrow, 8] = cc
				T[nrow, 9] = (kst[k] == "ok" ? "" : kst[k])
			}
			tsep()
		}
		tflush()
	}

	# ------------------------------------------------------------ goals
	heading("Goals (printed, not enforced)")
	gstart()
	for (mi = 1; mi <= nmtu; mi++) {
		m = mtus[mi]
		th = (m + 0 >= 9000) ? 1.5 : 2.0
		for (bi = 1; bi <= 2; bi++) {
			b = (bi == 1 ? "tmpfs" : "disk")
			GN = 0; vals = ""
			for (oi = 1; oi <= nmode; oi++) {
				md = modes[oi]
				if (md != "seqread" && md != "seqwrite")
					continue
				r = ratio(mbps[m SUBSEP md SUBSEP "aoexd" SUBSEP b], mbps[m SUBSEP md SUBSEP "vblade" SUBSEP b])
				GV[++GN] = r
				vals = vals (vals == "" ? "" : ", ") md " " f2(r)
			}
			if (GN)
				grow("G1 seq MB/s aoexd/vblade >= " sprintf("%.1f", th), "mtu " m " " b, vals, gcheck(">=", th))
		}
	}
	for (mi = 1; mi <= nmtu; mi++) {
		m = mtus[mi]
		for (bi = 1; bi <= 2; bi++) {
			b = (bi == 1 ? "tmpfs" : "disk")
			GN = 0; vals = ""
			for (oi = 1; oi <= nmode; oi++) {
				md = modes[oi]
				r = ratio(cpug[m SUBSEP md SUBSEP "aoexd" SUBSEP b], cpug[m SUBSEP md SUBSEP "aoexd" SUBSEP "null"])
				GV[++GN] = r
				vals = vals (vals == "" ? "" : ", ") md " " f2(r)
			}
			if (GN)
				grow("G2 aoexd CPU/GiB file/null <= 1.3", "mtu " m " " b, vals, gcheck("<=", 1.3))
		}
	}
	for (mi = 1; mi <= nmtu; mi++) {
		m = mtus[mi]
		for (bi = 1; bi <= 2; bi++) {
			b = (bi == 1 ? "tmpfs" : "disk")
			GN = 0; vals = ""
			for (oi = 1; oi <= nmode; oi++) {
				md = modes[oi]
				r = ratio(cpug[m SUBSEP md SUBSEP "aoexd" SUBSEP b], cpug[m SUBSEP md SUBSEP "vblade" SUBSEP b])
				GV[++GN] = r
				vals = vals (vals == "" ? "" : ", ") md " " f2(r)
			}
			if (GN)
				grow("G3 CPU/GiB aoexd/vblade < 1", "mtu " m " " b, vals, gcheck("<", 1))
		}
	}
	for (mi = 1; mi <= nkmtu; mi++) {
		m = kmtus[mi]
		GN = 1
		GV[1] = ratio(kc[m SUBSEP "aoexd"], kc[m SUBSEP "vblade"])
		grow("G3 CPU/MiB aoexd/vblade < 1", "mtu " m " kernel", "dd " f2(GV[1]), gcheck("<", 1))
	}
	for (mi = 1; mi <= nkmtu; mi++) {
		m = kmtus[mi]
		GN = 2
		GV[1] = ratio(kw[m SUBSEP "aoexd"], kw[m SUBSEP "vblade"])
		GV[2] = ratio(kr[m SUBSEP "aoexd"], kr[m SUBSEP "vblade"])
		grow("G4 kernel MiB/s aoexd/vblade >= 1.0", "mtu " m " kernel", "write " f2(GV[1]) ", read " f2(GV[2]), gcheck(">=", 1.0))
	}
	split("G1 seq MB/s aoexd/vblade >= 2.0 (MTU < 9000), >= 1.5 (MTU >= 9000)|G2 aoexd CPU/GiB file/null <= 1.3|G3 CPU per GiB aoexd/vblade < 1 in every cell|G4 kernel MiB/s aoexd/vblade >= 1.0", GD, "|")
	for (i = 1; i <= 4; i++)
		if (!(("G" i) in gseen)) {
			ngoal++; nna++
			G[ngoal, 1] = GD[i]; G[ngoal, 2] = "-"; G[ngoal, 3] = "not measured"; G[ngoal, 4] = "n/a"
		}
	if (ngoal == 0) {
		para("(no cells measured)")
	} else {
		tstart(4)
		T[0, 1] = "goal"; T[0, 2] = "cell"; T[0, 3] = "measured"; T[0, 4] = "verdict"
		for (c = 1; c <= 4; c++) RIGHT[c] = 0
		for (i = 1; i <= ngoal; i++) {
			nrow++
			for (c = 1; c <= 4; c++) T[nrow, c] = G[i, c]
			if (i < ngoal && substr(G[i, 1], 1, 2) != substr(G[i + 1, 1], 1, 2))
				tsep()
		}
		tflush()
		para(sprintf("goals: %d met, %d not met, %d n/a", nmet, nnot, nna))
	}
}
