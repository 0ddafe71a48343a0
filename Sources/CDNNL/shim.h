// Debian's libdnnl-dev (oneDNN 2.x) installs its C API under oneapi/dnnl.
#include <oneapi/dnnl/dnnl.h>
