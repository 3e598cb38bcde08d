set terminal pngcairo size 1100,650 font 'sans,11'
set output '/work/search-wt/bench/results/20261124-195340-smoke.png'
set title 'Search latency by percentile (from intended send time), corpus fortunes (smoke)'
set logscale x
set logscale y
set xtics ('0%' 1, '50%' 2, '90%' 10, '99%' 100, '99.9%' 1000, '99.99%' 10000)
set xlabel 'percentile'
set ylabel 'latency (ms)'
set grid
set key left top
plot '/work/search-wt/bench/results/20261124-195340-smoke.plot.dat' index 0 with linespoints dt 2 lw 2 title 'linux-guest 37/s', \
     '/work/search-wt/bench/results/20261124-195340-smoke.plot.dat' index 1 with linespoints dt 2 lw 2 title 'linux-guest 73/s', \
     '/work/search-wt/bench/results/20261124-195340-smoke.plot.dat' index 2 with linespoints dt 2 lw 2 title 'linux-guest 110/s', \
     '/work/search-wt/bench/results/20261124-195340-smoke.plot.dat' index 3 with linespoints dt 1 lw 2 title 'native 37/s', \
     '/work/search-wt/bench/results/20261124-195340-smoke.plot.dat' index 4 with linespoints dt 1 lw 2 title 'native 73/s', \
     '/work/search-wt/bench/results/20261124-195340-smoke.plot.dat' index 5 with linespoints dt 1 lw 2 title 'native 110/s'