// Debian's libdnnl-dev (oneDNN 2.x) installs its C API under oneapi/dnnl. Its CPU
// runtime is OpenMP (libgomp), whose thread count is set through the OpenMP API; omp.h
// lives in GCC's private include folder, so the one function needed is declared here.
#include <oneapi/dnnl/dnnl.h>

void omp_set_num_threads(int num_threads);
