from ansible_collections.pmem.optane.plugins.modules import pmem_info
from uthelper import UTHelper

test_module = UTHelper.from_module(pmem_info, __file__).test
