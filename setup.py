"""Packaging for toremi: every field is read from settings.ini (nbdev 2 layout)."""
from configparser import ConfigParser
import setuptools, shlex

config = ConfigParser(delimiters=['='])
config.read('settings.ini', encoding='utf-8')
cfg = config['DEFAULT']

expected = 'version description keywords author author_email license user min_python status audience language'.split()
missing = [o for o in expected if o not in cfg]
if missing: raise SystemExit(f'settings.ini is missing: {missing}')

licenses = {'apache2': ('Apache Software License 2.0', 'OSI Approved :: Apache Software License')}
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable', '6 - Mature', '7 - Inactive']
py_versions = '3.10 3.11 3.12 3.13'.split()

lic = licenses[cfg['license'].lower()]
min_python = cfg['min_python']
requirements = shlex.split(cfg.get('requirements', ''))
dev_requirements = shlex.split(cfg.get('dev_requirements', ''))
tensorboard_requirements = shlex.split(cfg.get('tensorboard_requirements', ''))
ray_requirements = shlex.split(cfg.get('ray_requirements', ''))
lib_path = cfg['lib_path']

setuptools.setup(
    name=cfg['lib_name'],
    license=lic[0],
    classifiers=['Development Status :: ' + statuses[int(cfg['status'])],
                 'Intended Audience :: ' + cfg['audience'].title(),
                 'Natural Language :: ' + cfg['language'].title(),
                 'License :: ' + lic[1]] +
                ['Programming Language :: Python :: ' + o for o in py_versions[py_versions.index(min_python):]],
    url=cfg['git_url'],
    # the checkout's data/ folder (taxonomies, presets, pins, task YAMLs) ships inside the package as toremi/data, and the
    # study's papermill notebooks (nbs/study) as toremi/study_notebooks, so that a plain `pip install .` finds them
    # (toremi.core.data_dir and toremi.study.study_notebook_dir look in the checkout first, then inside the package)
    packages=setuptools.find_packages(include=[lib_path, lib_path + '.*']) + [f'{lib_path}.data', f'{lib_path}.study_notebooks'],
    package_dir={f'{lib_path}.data': 'data', f'{lib_path}.study_notebooks': 'nbs/study'},
    package_data={f'{lib_path}.data': ['*/*.yaml', '*/*.yml', '*/*.json', '*/*.txt'], f'{lib_path}.study_notebooks': ['*.ipynb']},
    include_package_data=True,
    install_requires=requirements,
    extras_require={'dev': dev_requirements, 'tensorboard': tensorboard_requirements,  # pip install 'toremi[tensorboard]' for train.trackers=[tensorboard]
                    'ray': ray_requirements},  # pip install 'toremi[ray]' for --engine ray (Ray Data)
    python_requires='>=' + min_python,
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    zip_safe=False,
    entry_points={'console_scripts': cfg.get('console_scripts', '').split(),
                  'nbdev': [f'{cfg["lib_path"]}={cfg["lib_path"]}._modidx:d']},
    version=cfg['version'], description=cfg['description'], keywords=cfg['keywords'],
    author=cfg['author'], author_email=cfg['author_email'],
)
