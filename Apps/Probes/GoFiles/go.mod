module libra/probes/gofiles

go 1.19
